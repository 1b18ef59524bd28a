#!/usr/bin/env python3
"""Plays Asterisk's side of one FastAGI session for test_fastagi.sh.

Connects to voxgate, sends an environment block, then answers every
command from a small script: STREAM FILE checks the prompt WAV exists
(8 kHz) and answers 0 (or a key, see --key), RECORD FILE copies the
caller's speech WAV to the path it names, WAIT FOR DIGIT times out, SET
VARIABLE is remembered, EXEC answers -2 (no such app) unless --dial-ok,
GET VARIABLE answers from its table, HANGUP ends it. Prints one JSON object:
commands, variables, prompt count, bad prompts. Bounded in time and count.
"""
import argparse
import json
import shutil
import socket
import struct
import sys
import time


def wav_rate(path):
    with open(path, "rb") as f:
        head = f.read(64)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return 0
    return struct.unpack("<I", head[24:28])[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--script", default="bank-hotline")
    ap.add_argument("--speech", required=True)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--dial-ok", action="store_true")
    ap.add_argument("--arg", action="append", default=[],
                    help="agi_arg_N values in order (repeatable)")
    ap.add_argument("--dnid", default="100")
    ap.add_argument("--uniqueid", default="1700000000.42")
    ap.add_argument("--timing", action="store_true",
                    help="report turn_ms: the first RECORD FILE's 200 "
                    "sent -> the next STREAM FILE received (the bench)")
    a = ap.parse_args()
    s = socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout)
    env = ("agi_network: yes\n"
           f"agi_network_script: {a.script}\n"
           f"agi_request: agi://127.0.0.1:{a.port}/{a.script}\n"
           "agi_channel: PJSIP/alice-00000042\n"
           "agi_language: en\nagi_type: PJSIP\n"
           f"agi_uniqueid: {a.uniqueid}\nagi_version: 20.5.0\n"
           "agi_callerid:+15551230000\nagi_calleridname: Alice\n"
           f"agi_dnid: {a.dnid}\nagi_context: voxgate\n"
           f"agi_extension: {a.dnid}\n"
           "agi_priority: 2\nagi_enhanced: 0.0\nagi_accountcode: \n"
           "agi_threadid: 140000000000\n" +
           "".join(f"agi_arg_{i + 1}: {v}\n" for i, v in enumerate(a.arg)) +
           "\n")
    s.sendall(env.encode())
    out = {"commands": [], "vars": {}, "prompts": 0, "bad_prompts": 0,
           "records": 0, "record_cmds": [], "closed": False}
    buf = b""
    rec_sent = None
    deadline = time.time() + a.timeout
    while time.time() < deadline and len(out["commands"]) < 200:
        while b"\n" not in buf:
            try:
                d = s.recv(4096)
            except socket.timeout:
                d = b""
            if not d:
                out["closed"] = True
                break
            buf += d
        if out["closed"]:
            break
        line, buf = buf.split(b"\n", 1)
        cmd = line.decode()
        if (a.timing and rec_sent is not None and "turn_ms" not in out
                and cmd.startswith("STREAM FILE ")):
            out["turn_ms"] = round((time.monotonic() - rec_sent) * 1000, 1)
        out["commands"].append(cmd)
        reply = "200 result=0\n"
        if cmd.startswith("STREAM FILE "):
            path = cmd.split('"')[1] + ".wav"
            out["prompts"] += 1
            try:
                if wav_rate(path) != 8000:
                    out["bad_prompts"] += 1
            except OSError:
                out["bad_prompts"] += 1
            reply = "200 result=0 endpos=16000\n"
        elif cmd.startswith("RECORD FILE "):
            path = cmd.split('"')[1] + ".wav"
            out["records"] += 1
            out["record_cmds"].append(cmd)
            if out["records"] == 1:
                shutil.copyfile(a.speech, path)
            else:
                # Later turns: the caller says nothing (a silent WAV).
                with open(path, "wb") as f:
                    n = 8000
                    f.write(b"RIFF" + struct.pack("<I", 36 + 2 * n) +
                            b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1,
                                                      8000, 16000, 2, 16) +
                            b"data" + struct.pack("<I", 2 * n) +
                            b"\0" * (2 * n))
            reply = "200 result=0 (timeout) endpos=24000\n"
        elif cmd.startswith("SET VARIABLE "):
            rest = cmd[len("SET VARIABLE "):]
            name, val = rest.split(" ", 1)
            out["vars"][name] = val.strip('"')
            reply = "200 result=1\n"
        elif cmd.startswith("EXEC "):
            reply = "200 result=0\n" if a.dial_ok else "200 result=-2\n"
        elif cmd.startswith("GET VARIABLE DIALSTATUS"):
            reply = "200 result=1 (ANSWER)\n"
        elif cmd.startswith("GET VARIABLE"):
            reply = "200 result=0\n"
        elif cmd == "HANGUP":
            reply = "200 result=1\nHANGUP\n"
        s.sendall(reply.encode())
        if cmd.startswith("RECORD FILE ") and out["records"] == 1:
            rec_sent = time.monotonic()
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
