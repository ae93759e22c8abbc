"""One-way audio delay through dialtoned, measured, not assumed.

A raw SIP/RTP peer on loopback calls a registrar-less dialtoned and stands
for the wire:

- Receive path (wire to ear): the peer sends PCMU at a steady 20 ms pace
  with tone bursts that start on packet boundaries, noting when each burst
  left. dialtoned plays what it receives into a WAV file, written on the
  pipeline clock after the jitter buffer just as a sound card would play it
  and unbuffered; the test watches the file grow and notes when each
  burst's first samples landed in it.
- Send path (mouth to wire): dialtoned sends a live tone. Its RTCP sender
  reports map RTP time to capture time, so for every packet the peer knows
  when its first sample was captured and when the packet arrived. The tone
  source hands over each buffer at its timestamp, so this is dialtoned's
  own share (convert, encode, payload, send); a sound card adds its
  capture period on top.

Loopback adds next to nothing, so the sum is the mouth-to-ear delay of a
dialtoned-to-dialtoned call. The figures are printed; the assertions are
only sane bounds, since a loaded CI machine is no place for timing targets
(bench/ is).
"""

import re
import select
import statistics
import struct
import threading
import time

import numpy as np
import pytest

from harness import SipClient, audio, bind_rtp_pair, free_port, sdp
from test_calls import CALL, answer, config, incoming, wait_file, wait_state

RATE = 8000
PACKET = 160                      # 20 ms of PCMU
NTP_TO_UNIX = 2208988800
BURST_EVERY = 25                  # packets: a burst every 500 ms
BURST_PACKETS = 3                 # 60 ms of tone


class Peer:
    """Sends paced PCMU with bursts; records what comes back and when."""

    def __init__(self, rtp, rtcp, target, packets):
        self.rtp, self.rtcp, self.target, self.packets = rtp, rtcp, target, packets
        self.burst_sent = []          # monotonic time each burst's first packet left
        self.received = []            # (arrival unix time, rtp timestamp)
        self.reports = []             # (ntp time as unix seconds, rtp timestamp)
        self.stop = threading.Event()

    def payloads(self):
        burst = audio.g711_encode(audio.tone(RATE, 1000.0, BURST_PACKETS * 20, amplitude=0.5, ramp_ms=0.0))
        silence = audio.g711_encode(np.zeros(PACKET))
        for i in range(self.packets):
            k = i % BURST_EVERY
            # Leave the first half second quiet: the recording starts with
            # the first packet, and an onset needs silence before it.
            if i >= BURST_EVERY and k < BURST_PACKETS:
                yield i, burst[k * PACKET:(k + 1) * PACKET], k == 0
            else:
                yield i, silence, False

    def send(self):
        ssrc = 0x5EED1234
        start = time.monotonic()
        for i, payload, burst_start in self.payloads():
            due = start + i * 0.020
            while (now := time.monotonic()) < due:
                time.sleep(min(0.002, due - now))
            header = struct.pack("!BBHII", 0x80, 0x80 if i == 0 else 0x00, i & 0xFFFF, (i * PACKET) & 0xFFFFFFFF,
                                 ssrc)
            self.rtp.sendto(header + payload, self.target)
            if burst_start:
                self.burst_sent.append(time.monotonic())

    def listen(self):
        while not self.stop.is_set():
            ready, _, _ = select.select([self.rtp, self.rtcp], [], [], 0.05)
            for sock in ready:
                data = sock.recv(2048)
                arrival = time.time()
                if sock is self.rtp and len(data) >= 12 and data[0] >> 6 == 2:
                    self.received.append((arrival, struct.unpack("!I", data[4:8])[0]))
                elif sock is self.rtcp:
                    self.reports += sender_reports(data)


def sender_reports(data):
    """(NTP time as unix seconds, RTP timestamp) of each SR in a compound RTCP packet."""
    reports = []
    offset = 0
    while offset + 4 <= len(data):
        length = (struct.unpack("!H", data[offset + 2:offset + 4])[0] + 1) * 4
        if data[offset + 1] == 200 and offset + 20 <= len(data):
            sec, frac, rtp_ts = struct.unpack("!III", data[offset + 8:offset + 20])
            reports.append((sec - NTP_TO_UNIX + frac / 2 ** 32, rtp_ts))
        offset += length
    return reports


def receive_delays(recording, burst_sent, growth):
    samples, rate = audio.read_wav(recording)
    assert rate == RATE, rate
    offset = audio.wav_data_offset(recording)
    delays = []
    for onset in audio.burst_onsets(samples, rate):
        needed = offset + 2 * (int(round(onset * rate)) + 1)
        written = next((t for t, size in growth if size >= needed), None)
        if written is None:
            continue
        # The burst it came from: the last one sent before it was written.
        sent = [s for s in burst_sent if s <= written]
        if sent:
            delays.append(written - sent[-1])
    return delays


def send_delays(received, reports):
    """Arrival minus capture time, for every packet after the first SR."""
    if not reports:
        return []
    ntp, rtp_ts = reports[0]
    delays = []
    for arrival, ts in received:
        diff = (ts - rtp_ts + 2 ** 31) % 2 ** 32 - 2 ** 31
        delays.append(arrival - (ntp + diff / RATE))
    return delays


@pytest.fixture(params=[None, 20], ids=["default-jitter-buffer", "jitter-buffer-20"])
def phone(harness, request):
    extra = f"jitter-buffer={request.param}\n" if request.param else ""
    d = harness.daemon("phone", config=config("pcmu", extra)).start()
    d.port = free_port()
    d.add_account("lan", address="sip:phone@127.0.0.1", local_address="127.0.0.1", local_port=d.port,
                  allow_direct_calls=True)
    d.wait_account("lan", "unregistered", "no-registrar")
    return d


def test_one_way_delay_both_paths(phone, tmp_path):
    recording = tmp_path / "heard.wav"
    rtp, rtcp = bind_rtp_pair()
    client = SipClient()
    try:
        offer = sdp(port=rtp.getsockname()[1], attributes=("ptime:20", "sendrecv"))
        responses = []
        inviting = threading.Thread(
            target=lambda: responses.extend(client.invite("127.0.0.1", phone.port, user="phone", body=offer,
                                                          timeout=10.0, hang_up=False)))
        inviting.start()
        call = incoming(phone)
        answer(phone, call, audio_source="tone", audio_sink=f"file:{recording}")
        inviting.join(12)
        ok = [r for r in responses if r.status == 200]
        assert ok, responses
        media = re.search(r"c=IN IP4 (\S+).*?m=audio (\d+)", ok[0].body, re.S)
        wait_state(phone, call, "active")

        peer = Peer(rtp, rtcp, (media.group(1), int(media.group(2))), packets=8 * 50)
        stop_watch = threading.Event()
        growth = []
        threads = [threading.Thread(target=peer.listen),
                   threading.Thread(target=audio.watch_growth, args=(recording, stop_watch, growth))]
        for t in threads:
            t.start()
        try:
            peer.send()
            time.sleep(0.5)
        finally:
            stop_watch.set()
            peer.stop.set()
            for t in threads:
                t.join(5)
        client.bye()
        wait_state(phone, call, "terminated")
        wait_file(recording)
    finally:
        client.close()
        rtp.close()
        rtcp.close()

    jitter_ms = phone.get(call, CALL, "Media")["jitter-buffer-ms"]
    rx = receive_delays(recording, peer.burst_sent, growth)
    tx = send_delays(peer.received, peer.reports)
    assert len(rx) >= 10, f"only {len(rx)} of {len(peer.burst_sent)} bursts were found in the recording"
    assert peer.reports, "dialtoned sent no RTCP sender report"
    assert len(tx) >= 50, f"only {len(tx)} packets after the first sender report"
    rx_ms = 1000 * statistics.median(rx)
    tx_ms = 1000 * statistics.median(tx)
    print(f"\none-way delay, jitter buffer {jitter_ms} ms, PCMU 20 ms: "
          f"wire->ear median {rx_ms:.1f} ms (min {1000 * min(rx):.1f}, max {1000 * max(rx):.1f}, n={len(rx)}); "
          f"mouth->wire median {tx_ms:.1f} ms (min {1000 * min(tx):.1f}, max {1000 * max(tx):.1f}, n={len(tx)}); "
          f"mouth->ear {rx_ms + tx_ms:.1f} ms")
    # Each burst played after it was sent, and after the jitter buffer
    # held it (less a tick of the file watch); nothing was held for long.
    assert all(d > 0 for d in rx), rx
    assert rx_ms >= 0.8 * jitter_ms, rx_ms
    assert rx_ms < 300, rx_ms
    # Nothing left before it was captured (1 ms of slack for clock
    # granularity); nothing waited long.
    assert min(tx) > -0.001, min(tx)
    assert tx_ms < 300, tx_ms
