/** Binding a server to 127.0.0.1, falling back to a free port when the one asked for is busy. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Listening {
  port: number;
  /** True when `port` was busy and another one was picked. */
  fellBack: boolean;
}

function tryListen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** Listens on `host:port`; a busy port (EADDRINUSE or EACCES) makes it pick a free one instead of failing. */
export async function listenWithFallback(server: Server, host: string, port: number): Promise<Listening> {
  try {
    return { port: await tryListen(server, host, port), fellBack: false };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (port === 0 || (code !== 'EADDRINUSE' && code !== 'EACCES')) throw error;
    return { port: await tryListen(server, host, 0), fellBack: true };
  }
}
