"""A TCP relay that adds latency: every chunk read on one side is written to the other DELAY
milliseconds later, in order, in each direction (so the round trip grows by twice DELAY).
This kernel has no sch_netem; bench/modules runs one of these in a sandbox host's network
namespace, in front of its sshd. It also counts the bytes sent both ways, in BYTES_FILE
("UP DOWN", rewritten after every chunk).

usage: python3 bench/delay_relay.py LISTEN_PORT CONNECT_PORT DELAY_MS BYTES_FILE   (127.0.0.1 on both sides)
"""

import asyncio
import sys
import time

totals = {"up": 0, "down": 0}


async def pump(reader, writer, delay, direction, bytes_file):
    queue = asyncio.Queue()

    async def deliver():
        while True:
            due, chunk = await queue.get()
            if chunk is None:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(chunk)
            await writer.drain()
            with open(bytes_file, "w", encoding="utf-8") as out:
                out.write(f"{totals['up']} {totals['down']}\n")
        writer.close()

    sender = asyncio.create_task(deliver())
    try:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            totals[direction] += len(chunk)
            queue.put_nowait((time.monotonic() + delay, chunk))
    except ConnectionError:
        pass
    queue.put_nowait((0, None))
    try:
        await sender
    except ConnectionError:
        pass


async def main():
    listen, connect, delay_ms, bytes_file = sys.argv[1:5]
    delay = float(delay_ms) / 1000

    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", int(connect))
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            pump(client_reader, server_writer, delay, "up", bytes_file),
            pump(server_reader, client_writer, delay, "down", bytes_file),
        )

    server = await asyncio.start_server(handle, "127.0.0.1", int(listen))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    asyncio.run(main())
