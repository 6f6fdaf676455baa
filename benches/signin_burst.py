#!/usr/bin/env python3
# A burst of 300 wrong-password sign-ins against a running `serve` (see
# BENCHMARKS.md, "Sign-ins under a burst"): statuses, resident memory
# before and at its peak, and the latency of single sign-ins afterwards.
import subprocess, threading, time, urllib.request, urllib.parse, sys, os
B, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
env = dict(os.environ, VERGLEICHSRING_SERVER_TRUSTED_PROXIES="127.0.0.1")
p = subprocess.Popen([B, "serve", "--data-dir", os.environ.get("RING", "/tmp/rssring"), "--listen", f"127.0.0.1:{port}"], env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
for _ in range(200):
    try: urllib.request.urlopen(f"http://127.0.0.1:{port}/health"); break
    except Exception: time.sleep(0.1)
rss = lambda: int(subprocess.check_output(["ps", "-o", "rss=", "-p", str(p.pid)]).decode())
before = rss(); peak = [before]; stop = False
def sample():
    while not stop:
        peak[0] = max(peak[0], rss()); time.sleep(0.02)
statuses = {}
lock = threading.Lock()
def one(i):
    data = urllib.parse.urlencode({"email": f"x{i}@a.de" if mode == "many" else "x@a.de", "password": "falsch falsch falsch", "nonce": "n"}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/web/anmelden", data=data, headers={"Cookie": "vr_login=n", "Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": f"198.51.{i//200}.{i%200+1}" if mode == "many" else "203.0.113.1"})
    try: code = urllib.request.urlopen(req).status
    except urllib.error.HTTPError as e: code = e.code
    except Exception as e: code = str(e)
    with lock: statuses[code] = statuses.get(code, 0) + 1
s = threading.Thread(target=sample); s.start()
t0 = time.time()
ts = [threading.Thread(target=one, args=(i,)) for i in range(300)]
[t.start() for t in ts]; [t.join() for t in ts]
dt = time.time() - t0
time.sleep(0.3); stop = True; s.join()
# Sequential sign-in latency of single wrong passwords (fresh addresses, distinct accounts).
lat = []
for i in range(30):
    data = urllib.parse.urlencode({"email": f"y{i}@a.de", "password": "falsch", "nonce": "n"}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/web/anmelden", data=data, headers={"Cookie": "vr_login=n", "Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": f"192.0.2.{i+1}"})
    t = time.time()
    try: urllib.request.urlopen(req)
    except urllib.error.HTTPError: pass
    lat.append((time.time() - t) * 1000)
lat.sort()
print(f"mode={mode} statuses={statuses} burst={dt:.2f}s rss_before={before//1024}MiB rss_peak={peak[0]//1024}MiB sign-in p50={lat[15]:.0f}ms")
p.kill(); p.wait()
