#!/usr/bin/env python3
# The coordinator's collection on a national ring (see BENCHMARKS.md, "The
# ring's year in the browser"): time to first byte and total of the
# collection page (`/web/sammlung`, 200 rows of all members), of a filtered
# page, of the API's JSON and CSV of every member, and of a member's
# overview. Usage: collection_page.py BIN DATA_DIR [PORT]; DATA_DIR is
# changed (an admin account is made), so pass a copy.
import hashlib, hmac, http.client, os, re, struct, subprocess, sys, time, urllib.parse

B, D = sys.argv[1], sys.argv[2]
port = int(sys.argv[3]) if len(sys.argv) > 3 else 18181
link = subprocess.check_output([B, "user", "create-admin", "--data-dir", D, "--email", "bench@ring.example", "--name", "Bench"], text=True)
path = re.search(r"(/web/einladung/\S+)", link).group(1)
token = subprocess.check_output([B, "token", "create", "--data-dir", D, "--role", "admin"], text=True).split()[0]
p = subprocess.Popen([B, "serve", "--data-dir", D, "--listen", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
cookies = {}

def req(method, url, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    h = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    h.update(headers or {})
    if body is not None:
        h["Content-Type"] = "application/x-www-form-urlencoded"
        body = urllib.parse.urlencode(body)
    t0 = time.perf_counter()
    c.request(method, url, body=body, headers=h)
    r = c.getresponse()
    first = time.perf_counter() - t0
    data = r.read()
    total = time.perf_counter() - t0
    for k, v in r.getheaders():
        if k.lower() == "set-cookie":
            name, _, rest = v.partition("=")
            cookies[name] = rest.split(";")[0]
    return r.status, data.decode("utf-8", "replace"), first * 1000, total * 1000

for _ in range(600):
    try:
        if req("GET", "/health")[0] == 200: break
    except Exception: pass
    time.sleep(0.1)
t0 = time.time()
while time.time() - t0 < 600:
    if req("GET", "/ready")[0] == 200: break
    time.sleep(0.5)
status, text, _, _ = req("POST", path, {"password": "ein langes Passwort", "password2": "ein langes Passwort"})
assert status == 303, (status, text[:300])
page = req("GET", "/web/zweiter-faktor")[1]
secret = re.search(r'name="secret" value="([A-Z2-7]+)"', page).group(1)
csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
def totp(secret):
    key = __import__("base64").b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    o = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000)
status = req("POST", "/web/zweiter-faktor", {"csrf": csrf, "secret": secret, "code": totp(secret)})[0]
assert status == 200, status

def measure(label, url, headers=None, n=20):
    firsts, totals = [], []
    for _ in range(n):
        status, text, first, total = req("GET", url, headers=headers)
        assert status == 200, (label, status, text[:300])
        firsts.append(first); totals.append(total)
    firsts.sort(); totals.sort()
    print(f"{label}: first byte p50 {firsts[n // 2]:.0f} ms, max {firsts[-1]:.0f} ms; total p50 {totals[n // 2]:.0f} ms ({len(text.encode()) // 1024} KiB)")

members = req("GET", "/api/v1/members", headers={"Authorization": f"Bearer {token}"})[1].count('"member_id"')
print(f"{members} members")
measure("collection page, all members, page 1", "/web/sammlung?bereich=library&jahr=2024")
measure("collection page, search 'Stadt'", "/web/sammlung?bereich=library&jahr=2024&suche=Stadt&seite=2")
measure("API JSON, every member", "/api/v1/collections/library/2024", {"Authorization": f"Bearer {token}"}, 10)
measure("API CSV, every member", "/api/v1/collections/library/2024", {"Authorization": f"Bearer {token}", "Accept": "text/csv"}, 10)
measure("export XLSX, every member", "/web/sammlung/export?bereich=library&jahr=2024&format=xlsx", None, 5)
measure("review queue", "/web/pruefung?bereich=library&jahr=2024", None, 10)
measure("explorer, size classes", "/web/analyse?bereich=library&jahr=2024&kennzahl=loans_per_capita&gruppierung=size_class")
p.terminate(); p.wait()
