"""Real SIP peers for the proxy tests, on 127.0.0.1: a UAS that answers,
rejects or stays silent and records what it received, and a UAC that makes a
call through the proxy and completes the dialog (ACK, BYE) along the route
set, as a phone would."""

import re
import socket
import threading
import time
import uuid

from . import sip


def _header(raw, name):
    m = re.search(r"(?im)^%s\s*:\s*(.*)$" % re.escape(name), raw)
    return m.group(1).strip() if m else None


def _headers(raw, name):
    return [v.strip() for v in re.findall(r"(?im)^%s\s*:\s*(.*)$" % re.escape(name), raw)]


_split_commas = sip.split_list


class Request:
    def __init__(self, raw, addr):
        self.raw = raw
        self.addr = addr
        self.at = time.monotonic()  # when it arrived, to order requests of several UASs
        first = raw.split("\r\n", 1)[0]
        self.method, self.ruri, _ = first.split(" ", 2)

    def header(self, name):
        return _header(self.raw, name)


class UAS:
    """A user agent server on a UDP port of 127.0.0.1.

    mode: "answer"  100 + 200 (INVITE), 200 for anything else
          "reject"  100 + `code` for INVITE, `code` for anything else
          "silent"  never answers
          "ring"    100 + 180, then waits for CANCEL (200 + 487)
    answer_after: seconds between an INVITE's 100 and its 200 in "answer"
          mode, as a phone that rings before it is picked up
    """

    def __init__(self, mode="answer", code=503, answer_after=0.0):
        self.mode = mode
        self.code = code
        self.answer_after = answer_after
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.received = []
        self.tag = uuid.uuid4().hex[:8]
        self._halt = threading.Event()
        self._pending_invite = None
        # a thread of its own, not a Thread subclass: the subclass's method
        # names would share a namespace with Thread's private ones
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def requests(self, method=None):
        return [r for r in list(self.received) if method is None or r.method == method]

    def wait_for(self, method, count=1, timeout=5.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.requests(method)) >= count:
                return True
            time.sleep(0.02)
        return len(self.requests(method)) >= count

    def stop(self):
        self._halt.set()
        self._thread.join(2)
        self.sock.close()

    def _serve(self):
        while not self._halt.is_set():
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            raw = data.decode("utf-8", "replace")
            if raw.startswith("SIP/2.0"):
                continue
            req = Request(raw, addr)
            self.received.append(req)
            self._answer(req)

    def _reply(self, req, code, reason, extra=(), to_tag=True):
        lines = ["SIP/2.0 %d %s" % (code, reason)]
        lines += ["Via: " + v for v in _headers(req.raw, "Via")]
        lines += ["Record-Route: " + v for v in _headers(req.raw, "Record-Route")]
        to = _header(req.raw, "To")
        if to_tag and code > 100 and ";tag=" not in to:
            to += ";tag=" + self.tag
        lines += ["From: " + _header(req.raw, "From"), "To: " + to,
                  "Call-ID: " + _header(req.raw, "Call-ID"),
                  "CSeq: " + _header(req.raw, "CSeq")]
        lines += list(extra)
        lines.append("Content-Length: 0")
        self.sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), req.addr)

    def _reply_later(self, req, code, reason, extra):
        def send():
            try:
                self._reply(req, code, reason, extra)
            except OSError:
                pass  # stopped meanwhile
        timer = threading.Timer(self.answer_after, send)
        timer.daemon = True
        timer.start()

    def _answer(self, req):
        if self.mode == "silent" or req.method == "ACK":
            return
        contact = "Contact: <sip:uas@127.0.0.1:%d>" % self.port
        if req.method == "CANCEL":
            self._reply(req, 200, "OK")
            if self._pending_invite is not None:
                self._reply(self._pending_invite, 487, "Request Terminated")
                self._pending_invite = None
            return
        if req.method == "INVITE":
            self._reply(req, 100, "Trying", to_tag=False)
            if self.mode == "ring":
                self._reply(req, 180, "Ringing", [contact])
                self._pending_invite = req
                return
            if self.mode == "reject":
                self._reply(req, self.code, "Rejected")
                return
            if self.answer_after > 0:
                self._reply_later(req, 200, "OK", [contact])
                return
            self._reply(req, 200, "OK", [contact])
            return
        if self.mode == "reject":
            self._reply(req, self.code, "Rejected")
        else:
            self._reply(req, 200, "OK", [contact])


class UAC:
    """A caller over UDP: INVITE through the proxy, then ACK and BYE along
    the dialog's route set."""

    def __init__(self, proxy_port):
        self.proxy_port = proxy_port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.call_id = uuid.uuid4().hex
        self.from_tag = uuid.uuid4().hex[:8]
        self.responses = []

    def close(self):
        self.sock.close()

    def _send(self, method, ruri, to, cseq, routes=(), dest=None, branch=None):
        branch = branch or sip.new_branch()
        data = sip.build_request(method, ruri, self.port, cseq=cseq, to=to,
                                 headers=["Route: %s" % r for r in routes],
                                 call_id=self.call_id, from_tag=self.from_tag,
                                 branch=branch)
        self.sock.sendto(data, dest or ("127.0.0.1", self.proxy_port))
        return branch

    def _final(self, timeout, method):
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.time()))
            try:
                data = self.sock.recv(65535)
            except socket.timeout:
                return None
            raw = data.decode("utf-8", "replace")
            if not raw.startswith("SIP/2.0"):
                continue
            r = sip.Response(raw)
            if method not in (_header(raw, "CSeq") or ""):
                continue
            self.responses.append(r)
            if r.code >= 200:
                return r
        return None

    def invite(self, user, timeout=10.0):
        """Sends the INVITE; returns its final response (or None)."""
        self.to = "<sip:%s@127.0.0.1:%d>" % (user, self.proxy_port)
        self.ruri = "sip:%s@127.0.0.1:%d" % (user, self.proxy_port)
        self.invite_branch = self._send("INVITE", self.ruri, self.to, 1)
        return self._final(timeout, "INVITE")

    def cancel(self):
        self._send("CANCEL", self.ruri, self.to, 1, branch=self.invite_branch)

    def wait_final(self, timeout=10.0):
        return self._final(timeout, "INVITE")

    def count_finals(self, method="INVITE", timeout=1.0):
        """Collects further final responses for a while (retransmissions of
        one final answer keep the same code)."""
        self._final(timeout, method)
        return [r.code for r in self.responses if r.code >= 200]

    def ack_and_bye(self, ok):
        """ACKs a 2xx and hangs up, along the route set; returns the BYE's
        final response."""
        routes = [r for v in reversed(ok.header("record-route")) for r in reversed(_split_commas(v))]
        contact = re.match(r"<([^>]*)>", ok.header("contact")[0]).group(1)
        to = ok.header("to")[0]
        dest = ("127.0.0.1", self.proxy_port)
        self._send("ACK", contact, to, 1, routes=routes, dest=dest)
        self._send("BYE", contact, to, 2, routes=routes, dest=dest)
        return self._final(5.0, "BYE")
