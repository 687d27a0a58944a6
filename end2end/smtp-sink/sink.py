"""A real SMTP server (aiosmtpd) on a free loopback port that keeps every message it accepts, for Tether's tests.

Usage: python3 sink.py MAIL_DIR
Each accepted message is written to MAIL_DIR as <n>.eml (n counting from 1), with the envelope's recipients in
<n>.rcpt, one per line. When it listens it prints `SMTP_SINK_READY <port>`; it stops on SIGTERM or SIGINT.
"""

import asyncio
import os
import signal
import sys

from aiosmtpd.smtp import SMTP


class KeepMessages:
    def __init__(self, mail_dir):
        self.mail_dir = mail_dir
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        stem = os.path.join(self.mail_dir, str(self.count))
        # The recipients first: a reader that sees the message file finds them in place.
        with open(stem + ".rcpt", "w") as rcpt:
            rcpt.write("\n".join(envelope.rcpt_tos) + "\n")
        with open(stem + ".eml.tmp", "wb") as message:
            message.write(envelope.original_content or envelope.content)
        os.rename(stem + ".eml.tmp", stem + ".eml")
        return "250 Message accepted for delivery"


async def main(mail_dir):
    os.makedirs(mail_dir, exist_ok=True)
    handler = KeepMessages(mail_dir)
    loop = asyncio.get_running_loop()
    # aiosmtpd's own protocol on asyncio's server: port 0 picks a free port, which is then printed.
    server = await loop.create_server(lambda: SMTP(handler, hostname="tether-test-sink"), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"SMTP_SINK_READY {port}", flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
