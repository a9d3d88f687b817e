"""HTTP helpers shared by the gateway tests: requests whose target goes out byte for byte."""

import http.client
import urllib.parse


def send(method, url, body=None, headers=None):
    """Sends the URL's path and query unchanged (no re-encoding); returns status, headers, body."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    target = parts.path + ("?" + parts.query if parts.query else "")
    try:
        conn.putrequest(method, target, skip_accept_encoding=True, skip_host=False)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if body is not None or method in ("PUT", "POST"):
            conn.putheader("Content-Length", str(len(body or b"")))
        conn.endheaders()
        if body:
            conn.send(body)
        response = conn.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        conn.close()


def origin_form(url):
    """`/path?query` of an absolute URL, as a gateway sees the request target."""
    parts = urllib.parse.urlsplit(url)
    return parts.path + "?" + parts.query


def tamper_signature(url):
    head, sig = url.rsplit("X-Amz-Signature=", 1)
    return head + "X-Amz-Signature=" + ("0" if sig[0] != "0" else "1") + sig[1:]


def as_record(fields):
    if isinstance(fields, dict):
        return {k.decode(): v for k, v in fields.items()}
    return {fields[i].decode(): fields[i + 1] for i in range(0, len(fields), 2)}


def issue(presignd, *args, cid="issuer"):
    """ISSUE over the line protocol; returns the record with text values."""
    record = as_record(presignd.client(cid).execute_command("ISSUE", *args))
    return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in record.items()}
