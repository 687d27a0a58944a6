// Serving a test's own HTTP server (a provider API, a callback receiver) on a free loopback port.
import * as http from 'node:http';
import { AddressInfo } from 'node:net';

/** Listens on a free loopback port; answers the server's base URL and how to stop it. */
export async function listen(server: http.Server): Promise<{ url: string; stop: () => Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    // Tether keeps its connections alive and polls or delivers on them every few seconds, so a plain close()
    // could wait for them forever: they are cut once the server stops listening.
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
