"""Minimal SIP client for the end-to-end tests: hand-made requests over UDP
or TCP to 127.0.0.1, and parsing of the answers as a user would read them."""

import re
import socket
import time
import uuid


def split_list(value):
    """A header value's comma-separated items, commas inside <> kept."""
    out, depth, cur = [], 0, ""
    for ch in value:
        depth += ch == "<"
        depth -= ch == ">"
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


class Response:
    def __init__(self, raw):
        self.raw = raw
        head = raw.split("\r\n\r\n", 1)[0]
        lines = head.split("\r\n")
        m = re.match(r"SIP/2\.0 (\d{3}) (.*)", lines[0])
        if not m:
            raise ValueError("not a SIP response: %r" % lines[0])
        self.code = int(m.group(1))
        self.reason = m.group(2)
        self.headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers.append((name.strip().lower(), value.strip()))

    def header(self, name):
        """All values of a header, in order."""
        return [v for n, v in self.headers if n == name.lower()]

    def contacts(self):
        """Every Contact value (one per target), split on commas outside <>."""
        out = []
        for value in self.header("contact") + self.header("m"):
            out += split_list(value)
        return out

    def contact_uris(self):
        return [re.match(r"<([^>]*)>", c).group(1) for c in self.contacts()]

    def __repr__(self):
        return "<Response %d %s>" % (self.code, self.reason)


def new_branch():
    return "z9hG4bK" + uuid.uuid4().hex


def build_request(method, ruri, local_port, transport="UDP", headers=None,
                  body="", cseq=1, call_id=None, to_tag=None, to=None,
                  from_tag=None, branch=None):
    """A request from caller@127.0.0.1:local_port; `headers` (whole lines)
    go after Contact. to: the To value (default: the R-URI's, or nobody
    when it has no user, with to_tag); call_id, from_tag, branch: new ones
    unless given."""
    branch = branch or new_branch()
    call_id = call_id or uuid.uuid4().hex
    if to is None:
        to = "<%s>" % ruri if "@" in ruri else "<sip:nobody@127.0.0.1>"
        if to_tag:
            to += ";tag=" + to_tag
    lines = [
        "%s %s SIP/2.0" % (method, ruri),
        "Via: SIP/2.0/%s 127.0.0.1:%d;branch=%s;rport" % (transport, local_port, branch),
        "Max-Forwards: 70",
        "From: <sip:caller@127.0.0.1>;tag=%s" % (from_tag or uuid.uuid4().hex[:8]),
        "To: %s" % to,
        "Call-ID: %s" % call_id,
        "CSeq: %d %s" % (cseq, method),
        "Contact: <sip:caller@127.0.0.1:%d>" % local_port,
    ]
    for h in headers or []:
        lines.append(h)
    lines.append("Content-Length: %d" % len(body.encode()))
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def send_raw_udp(port, data, timeout=2.0):
    """Sends hand-made bytes over UDP; returns the first final Response, or
    None when nothing (final) came back within timeout."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return _udp_exchange(s, port, data, timeout, True)


def request(port, method="INVITE", user="alice", transport="udp", headers=None,
            ruri=None, timeout=2.0, expect_reply=True, body="", to_tag=None):
    """Sends one request to 127.0.0.1:port; returns the final Response or
    None when nothing came back within timeout."""
    ruri = ruri or ("sip:%s@127.0.0.1:%d" % (user, port) if user else
                    "sip:127.0.0.1:%d" % port)
    if transport == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        local = s.getsockname()[1]
        data = build_request(method, ruri, local, "UDP", headers, body,
                             to_tag=to_tag)
        return _udp_exchange(s, port, data, timeout, expect_reply)
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        local = s.getsockname()[1]
        s.sendall(build_request(method, ruri, local, "TCP", headers, body,
                                to_tag=to_tag))
        buf = b""
        deadline = time.time() + timeout
        while time.time() < deadline:
            s.settimeout(max(0.01, deadline - time.time()))
            try:
                chunk = s.recv(65535)
            except socket.timeout:
                return None
            if not chunk:
                return None
            buf += chunk
            while b"\r\n\r\n" in buf:
                head, rest = buf.split(b"\r\n\r\n", 1)
                m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                blen = int(m.group(1)) if m else 0
                if len(rest) < blen:
                    break
                r = Response((head + b"\r\n\r\n" + rest[:blen]).decode("utf-8", "replace"))
                buf = rest[blen:]
                if r.code >= 200:
                    return r
        return None
    finally:
        s.close()


def _udp_exchange(s, port, data, timeout, expect_reply):
    # a stateful server retransmits a final reply until it is ACKed: one for
    # an earlier request may reach a socket that reuses its port, so only
    # answers to this request's Call-ID count
    m = re.search(rb"(?im)^call-id:\s*(\S+)", data)
    call_id = m.group(1).decode() if m else None
    try:
        s.sendto(data, ("127.0.0.1", port))
        deadline = time.time() + timeout
        while time.time() < deadline:
            s.settimeout(max(0.01, deadline - time.time()))
            try:
                r = Response(s.recv(65535).decode("utf-8", "replace"))
            except socket.timeout:
                return None
            if call_id and r.header("call-id") and r.header("call-id")[0] != call_id:
                continue
            if r.code >= 200 or not expect_reply:
                return r
        return None
    finally:
        s.close()
