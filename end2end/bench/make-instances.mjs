// `make bench`: makes COUNT basic-auth instances through the REST API of the Tether at BASE, CONCURRENCY at a
// time, for the resident-memory figure. Usage: node make-instances.mjs BASE AUTHORIZATION COUNT
const [base, authorization, countText] = process.argv.slice(2);
const count = Number(countText);
const headers = { Authorization: authorization, 'Content-Type': 'application/json' };
const api = (method, path, body) => fetch(`${base}/elements/api-v2${path}`, { method, headers, body: JSON.stringify(body) });

const element = {
  key: 'bench-memory', name: 'Bench memory', hub: 'general', auth: 'basic',
  api: { baseUrl: 'https://{account}.example.com/api', credentials: { in: 'basic' } },
  parameters: [
    { key: 'account', label: 'Account', pattern: '^[a-z]+$' },
    { key: 'username', label: 'User name' },
    { key: 'password', label: 'Password', type: 'password', secret: true },
  ],
};
const made = await api('POST', '/elements', element);
if (!made.ok) throw new Error(`the element was refused: ${made.status} ${await made.text()}`);
let next = 0;
async function worker() {
  while (next < count) {
    const number = next++;
    const answer = await api('POST', '/elements/bench-memory/instances', {
      name: `Memory ${number}`,
      configuration: { account: 'acme', username: `user${number}`, password: 'a-password' },
    });
    if (!answer.ok) throw new Error(`instance ${number}: ${answer.status} ${await answer.text()}`);
    await answer.arrayBuffer();
  }
}
await Promise.all(Array.from({ length: 32 }, worker));
console.log(`made ${count} instances`);
