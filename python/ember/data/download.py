"""Downloading a file: from the first mirror that works, resumable, checked, atomic.

The bytes go to `<name>.part` beside the target; a later attempt (a retry after a dropped
connection, or the next run) asks the server for the rest with an HTTP Range header. Only a
complete file whose MD5 matches is renamed to its name, so a reader finds the whole file or none;
a mismatch removes the partial file.
"""
import hashlib
import http.client
import os
import urllib.error
import urllib.request

ATTEMPTS = 3  # per mirror: a dropped connection is resumed this many times before the next mirror
_CHUNK = 1 << 16
_TIMEOUT_S = 30


def md5(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fetch_into(url, part):
    """Appends the rest of url to part (asking for it with Range); ConnectionError on a cut."""
    have = os.path.getsize(part) if os.path.exists(part) else 0
    req = urllib.request.Request(url, headers={"User-Agent": "ember"})
    if have:
        req.add_header("Range", f"bytes={have}-")
    try:
        resp = urllib.request.urlopen(req, timeout=_TIMEOUT_S)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # nothing after what we have: it may be complete already
            return
        raise
    expected = resp.headers.get("Content-Length")
    got = 0
    with resp, open(part, "ab" if have and resp.status == 206 else "wb") as f:
        while True:
            block = resp.read(_CHUNK)
            if not block:
                break
            f.write(block)
            got += len(block)
    if expected is not None and got < int(expected):  # read() returns short at a cut instead of raising
        raise ConnectionError(f"the connection closed after {got} of {expected} bytes")


def _attempts(url, part):
    """None once part holds all of url, else the last error; a cut connection is resumed."""
    error = None
    for _ in range(ATTEMPTS):
        try:
            _fetch_into(url, part)
            return None
        except (http.client.IncompleteRead, ConnectionError, TimeoutError) as e:
            error = e
        except (urllib.error.URLError, OSError) as e:  # refused, unknown host, HTTP error: the next mirror
            return e
    return error


def download(name, folder, mirrors, checksum, op):
    """folder/name from the first mirror that gives bytes with this MD5 (None: any); returns its path.

    Raises RuntimeError naming the file, the folder and what each mirror answered.
    """
    os.makedirs(folder, exist_ok=True)
    target, part = os.path.join(folder, name), os.path.join(folder, name + ".part")
    errors = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        resumed = os.path.exists(part)
        for _ in range(2 if resumed else 1):  # a resumed file that fails its check gets one fresh try
            error = _attempts(url, part)
            if error is not None:
                errors.append(f"{url}: {type(error).__name__}: {error}")
                break
            got = md5(part)
            if checksum is None or got == checksum:
                os.replace(part, target)
                return target
            os.unlink(part)
            errors.append(f"{url}: checksum mismatch (MD5 {got}, expected {checksum}); the partial file was removed")
    raise RuntimeError(f"[{op}] could not download '{name}' into '{folder}':\n  " + "\n  ".join(errors))
