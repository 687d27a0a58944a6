// Starts one tether for the whole run and hands its address and first-start credentials to the tests via env.
import { startTether } from './tether-server';

export default async function globalSetup() {
  const tether = await startTether();
  process.env.TETHER_BASE_URL = tether.baseUrl;
  process.env.TETHER_ADMIN_EMAIL = tether.email;
  process.env.TETHER_ADMIN_PASSWORD = tether.password;
  process.env.TETHER_ORGANIZATION_SECRET = tether.organizationSecret;
  process.env.TETHER_USER_SECRET = tether.userSecret;
  return async () => {
    await tether.stop();
  };
}
