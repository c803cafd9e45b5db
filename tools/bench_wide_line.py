#!/usr/bin/env python3
"""bench_wide_line.py: a 70,000-field line (5.6 MB) written to a Sluice binary and three of its
fields read back (f0, f65535, f69999): write time, SELECT time, which fields came back; one
JSON line. Usage: tools/bench_wide_line.py BINARY PORT (a fresh data directory under /tmp)."""
import json, os, shutil, signal, subprocess, sys, time, urllib.parse, urllib.request
binary, port = sys.argv[1], sys.argv[2]
root = f'/tmp/wide-{port}'
shutil.rmtree(root, ignore_errors=True)
env = dict(os.environ, SLUICE_BIND_ADDRESS='127.0.0.1:0', SLUICE_HTTP_BIND_ADDRESS=f'127.0.0.1:{port}', SLUICE_META_DIR=f'{root}/meta',
           SLUICE_DATA_DIR=f'{root}/data', SLUICE_DATA_WAL_DIR=f'{root}/wal')
server = subprocess.Popen([binary, 'run'], env=env, stderr=subprocess.DEVNULL)
base = f'http://127.0.0.1:{port}'
for _ in range(100):
    try:
        urllib.request.urlopen(base + '/ping'); break
    except Exception:
        time.sleep(0.1)
def query(text):
    return urllib.request.urlopen(base + '/query?' + urllib.parse.urlencode({'q': text}), data=b'', timeout=600).read().decode()
query('CREATE DATABASE db0')
fields = 70000
body = ('wide,host=a ' + ','.join(f'f{i}="{"v" * 64}{i}"' for i in range(fields)) + ' 1000\n').encode()
started = time.time()
status = urllib.request.urlopen(urllib.request.Request(base + '/write?db=db0', data=body), timeout=600).status
write_s = time.time() - started
started = time.time()
answer = json.loads(query('SELECT f0, f65535, f69999 FROM db0..wide'))
select_s = time.time() - started
row = answer['results'][0]['series'][0]['values'][0]
present = [value is not None for value in row[1:]]
server.send_signal(signal.SIGTERM); server.wait()
shutil.rmtree(root, ignore_errors=True)
print(json.dumps({'binary': binary, 'write_status': status, 'write_s': round(write_s, 3),
                  'select_s': round(select_s, 3), 'f0,f65535,f69999 present': present}))
