"""StdlibTransport (``_http_transport``) through real sockets on 127.0.0.1.

Each test runs a small local server: a thread accepts connections and runs a handler per
connection, so a test can count the connections it was sent on, read the requests as they
arrived on the wire, and script a server that misbehaves. Nothing of the transport is mocked.

Topics, in order: round trips, keep-alive, bodies, errors, HTTPS, concurrency, closing, and
the adapters' ``CookielessClient``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import gzip
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from servicetrade_spectrum._http import CookielessClient
from servicetrade_spectrum._http_transport import StdlibTransport

pytestmark = pytest.mark.filterwarnings("error::ResourceWarning")
"""A connection the transport drops must be closed by it, not left to the garbage collector."""

WAIT = 1.0
"""How long a test waits for the server's side to see something (it sees it in microseconds)."""

SHORT_TIMEOUT = 0.2
"""The client's timeout where a test means to hit it."""


# -- the local server ----------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ReceivedRequest:
    """A request as the server read it off the wire (its body de-chunked)."""

    method: str
    target: str
    version: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return values[0] if values else None


class Peer:
    """The server's end of one accepted connection."""

    def __init__(self, sock: socket.socket, number: int, log: list[ReceivedRequest]) -> None:
        self.number = number
        """0 for the first connection the server accepted, 1 for the next, ..."""
        self.ended = threading.Event()
        """Set once the handler returned and this end is closed (after EOF, or on purpose)."""
        self._sock = sock
        self._reader = sock.makefile("rb")
        self._log = log

    def read_request(self) -> ReceivedRequest | None:
        """The next request on this connection, or None at EOF."""
        request_line = self._reader.readline()
        if not request_line:
            return None
        method, target, version = request_line.decode("latin-1").split()
        headers: list[tuple[str, str]] = []
        while (line := self._reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name, value.strip()))
        request = ReceivedRequest(method, target, version, tuple(headers))
        if (request.header("transfer-encoding") or "").lower() == "chunked":
            body = self._read_chunks()
        else:
            body = self._reader.read(int(request.header("content-length") or 0))
        request = dataclasses.replace(request, body=body)
        self._log.append(request)
        return request

    def _read_chunks(self) -> bytes:
        body = b""
        while size := int(self._reader.readline().split(b";")[0], 16):
            body += self._reader.read(size)
            assert self._reader.readline() == b"\r\n"
        while self._reader.readline() not in (b"\r\n", b""):  # trailers
            pass
        return body

    def send(self, data: bytes) -> None:
        self._sock.sendall(data)

    def wait_for_eof(self) -> None:
        """Read (and drop) whatever the client sends until it closes its end."""
        while self._reader.read1(65536):
            pass

    def shutdown(self) -> None:
        """Wake a handler blocked reading; the plain socket's, not TLS's (no close_notify)."""
        with contextlib.suppress(OSError):
            socket.socket.shutdown(self._sock, socket.SHUT_RDWR)

    def close(self) -> None:
        self.shutdown()
        self._reader.close()
        self._sock.close()


Handler = Callable[[Peer], None]
"""What the server does on one connection; the connection is closed when it returns."""

Respond = Callable[[ReceivedRequest], bytes]
"""The raw answer to one request."""


class LocalServer:
    """Accepts on 127.0.0.1 (an ephemeral port) and runs ``handler`` per connection, each
    on a thread of its own, TLS-wrapped first when given a context."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[ReceivedRequest] = []
        self.peers: list[Peer] = []
        self.connections = 0
        """Connections accepted so far (TCP, whether or not their TLS handshake succeeded)."""
        self._handler = handler
        self._tls = tls
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._closing = False
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def url(self, path: str = "/") -> str:
        scheme = "https" if self._tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while True:
            sock, _ = self._listener.accept()
            if self._closing:
                sock.close()
                return
            number = self.connections
            self.connections += 1
            threading.Thread(target=self._serve, args=(sock, number), daemon=True).start()

    def _serve(self, sock: socket.socket, number: int) -> None:
        try:
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_side=True)
        except OSError:  # the client refused the handshake
            sock.close()
            return
        peer = Peer(sock, number, self.requests)
        self.peers.append(peer)
        try:
            self._handler(peer)
        except OSError:  # the client went away mid-exchange
            pass
        finally:
            peer.close()
            peer.ended.set()

    def close(self) -> None:
        self._closing = True
        socket.create_connection(("127.0.0.1", self.port)).close()  # wakes accept()
        self._acceptor.join(WAIT)
        self._listener.close()
        for peer in list(self.peers):
            peer.shutdown()


def answer(body: bytes = b"", *, status: str = "200 OK", version: str = "HTTP/1.1",
           headers: Sequence[tuple[str, str]] = ()) -> bytes:
    """A raw response; framed by Content-Length unless the headers frame it otherwise."""
    lines = [f"{version} {status}", *(f"{name}: {value}" for name, value in headers)]
    if not any(name.lower() in ("content-length", "transfer-encoding") for name, _ in headers):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def echo_target(request: ReceivedRequest) -> bytes:
    """Answers with the request's target (path and query) as the body."""
    return answer(request.target.encode("latin-1"))


def keep_answering(respond: Respond = echo_target) -> Handler:
    """A well-behaved keep-alive server: answers every request until the client closes."""
    def handle(peer: Peer) -> None:
        while (request := peer.read_request()) is not None:
            peer.send(respond(request))
    return handle


def answer_once(respond: Respond = echo_target) -> Handler:
    """Answers the first request, then closes the connection (without saying so)."""
    def handle(peer: Peer) -> None:
        request = peer.read_request()
        if request is not None:
            peer.send(respond(request))
    return handle


def wait_until(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


class StartServer(Protocol):
    def __call__(self, handler: Handler | None = None, *,
                 tls: ssl.SSLContext | None = None) -> LocalServer: ...


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    """Starts local servers (by default, ones that echo the target); closes them after."""
    servers: list[LocalServer] = []

    def start(handler: Handler | None = None, *,
              tls: ssl.SSLContext | None = None) -> LocalServer:
        servers.append(LocalServer(handler or keep_answering(), tls))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def server(start_server: StartServer) -> LocalServer:
    """A healthy keep-alive server that answers each request with its target."""
    return start_server()


@pytest.fixture
def transport() -> Iterator[StdlibTransport]:
    transport = StdlibTransport()
    yield transport
    transport.close()


@pytest.fixture
def client(transport: StdlibTransport) -> Iterator[httpx.Client]:
    with httpx.Client(transport=transport, timeout=2.0) as client:
        yield client


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- round trips ---------------------------------------------------------------------------
def test_a_get_arrives_with_its_method_path_query_and_headers(
        server: LocalServer, client: httpx.Client) -> None:
    client.get(server.url("/ws/WorkOrder?id=7&name=a%20b"),
               headers=[("X-Trace", "abc"), ("X-Tag", "one"), ("X-Tag", "two")])

    [request] = server.requests
    assert (request.method, request.target, request.version) == (
        "GET", "/ws/WorkOrder?id=7&name=a%20b", "HTTP/1.1")
    assert request.header_values("host") == [f"127.0.0.1:{server.port}"]
    assert request.header("x-trace") == "abc"
    assert request.header_values("x-tag") == ["one", "two"]
    assert request.header("content-length") is None
    assert request.header("transfer-encoding") is None
    assert request.body == b""


def test_a_post_body_arrives_whole_with_its_content_length(
        server: LocalServer, client: httpx.Client) -> None:
    body = b"<soap:Envelope>" + b"x" * 70_000 + b"</soap:Envelope>"

    client.post(server.url("/ws/WorkOrderHeader"), content=body,
                headers={"Content-Type": "text/xml"})

    [request] = server.requests
    assert (request.method, request.target) == ("POST", "/ws/WorkOrderHeader")
    assert request.header("content-type") == "text/xml"
    assert request.header_values("content-length") == [str(len(body))]
    assert request.body == body


def test_the_status_reason_repeated_headers_and_body_come_back_as_sent(
        start_server: StartServer, client: httpx.Client) -> None:
    server = start_server(keep_answering(lambda _: answer(
        b'{"id": 7}', status="201 Created Just Now",
        headers=[("Content-Type", "application/json"), ("X-Thing", "one"), ("X-Thing", "two")])))

    response = client.get(server.url())

    assert response.status_code == 201
    assert response.reason_phrase == "Created Just Now"
    assert response.http_version == "HTTP/1.1"
    assert response.headers["content-type"] == "application/json"
    assert response.headers.get_list("x-thing") == ["one", "two"]
    assert response.content == b'{"id": 7}'


def test_response_header_bytes_outside_ascii_are_kept(
        start_server: StartServer, client: httpx.Client) -> None:
    server = start_server(keep_answering(lambda _: answer(headers=[("X-Name", "caf\xe9")])))

    response = client.get(server.url())

    assert (b"X-Name", b"caf\xe9") in response.headers.raw


# -- keep-alive ----------------------------------------------------------------------------
def test_sequential_requests_to_one_origin_share_one_connection(
        server: LocalServer, client: httpx.Client) -> None:
    bodies = [client.get(server.url(f"/{n}")).text for n in range(5)]

    assert bodies == ["/0", "/1", "/2", "/3", "/4"]
    assert server.connections == 1


def test_an_idle_connection_the_server_closed_is_replaced_without_an_error(
        start_server: StartServer, client: httpx.Client) -> None:
    server = start_server(answer_once())
    assert client.get(server.url("/first")).text == "/first"
    assert server.peers[0].ended.wait(WAIT)  # the server has closed the idle connection

    assert client.get(server.url("/second")).text == "/second"
    assert server.connections == 2


@pytest.mark.parametrize("closing_answer", [
    answer(b"bye", headers=[("Connection", "close"), ("Content-Length", "3")]),
    answer(b"bye", version="HTTP/1.0"),
], ids=["connection-close", "http-1.0"])
def test_after_an_answer_that_closes_the_next_request_opens_a_new_connection(
        start_server: StartServer, client: httpx.Client, closing_answer: bytes) -> None:
    # The server keeps its end open: only the client can tell this connection is done.
    server = start_server(keep_answering(lambda _: closing_answer))

    assert client.get(server.url()).text == "bye"
    assert client.get(server.url()).text == "bye"
    assert server.connections == 2


def test_an_http_1_0_answer_says_so(start_server: StartServer, client: httpx.Client) -> None:
    server = start_server(keep_answering(lambda _: answer(version="HTTP/1.0")))

    assert client.get(server.url()).http_version == "HTTP/1.0"


def test_a_body_delimited_by_the_server_closing_is_read_whole(
        start_server: StartServer, client: httpx.Client) -> None:
    body = b"no length given: " + b"y" * 50_000
    server = start_server(answer_once(
        lambda _: b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" + body))

    assert client.get(server.url()).content == body
    assert client.get(server.url()).content == body
    assert server.connections == 2


def test_a_connection_idle_past_keepalive_expiry_is_not_reused(server: LocalServer) -> None:
    with httpx.Client(transport=StdlibTransport(keepalive_expiry=0.1), timeout=2.0) as client:
        client.get(server.url())
        client.get(server.url())  # idle for less than the expiry: reused
        assert server.connections == 1

        time.sleep(0.15)
        client.get(server.url())
        assert server.connections == 2


def test_idle_connections_beyond_the_per_origin_cap_are_closed(
        start_server: StartServer) -> None:
    together = threading.Barrier(2, timeout=WAIT)

    def respond(request: ReceivedRequest) -> bytes:
        if request.target == "/together":  # both requests in flight at once: two connections
            together.wait()
        return echo_target(request)

    server = start_server(keep_answering(respond))
    with httpx.Client(transport=StdlibTransport(max_idle_per_origin=1), timeout=2.0) as client:
        with ThreadPoolExecutor(2) as pool:
            bodies = list(pool.map(lambda _: client.get(server.url("/together")).text, range(2)))
        assert bodies == ["/together", "/together"]
        assert server.connections == 2

        assert wait_until(lambda: sum(peer.ended.is_set() for peer in server.peers) == 1)
        assert client.get(server.url("/after")).text == "/after"  # on the one kept
        assert server.connections == 2
        assert sum(peer.ended.is_set() for peer in server.peers) == 1


# -- bodies --------------------------------------------------------------------------------
def test_a_chunked_answer_is_reassembled_and_its_connection_reused(
        start_server: StartServer, client: httpx.Client) -> None:
    chunked = answer(b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n",
                     headers=[("Transfer-Encoding", "chunked")])
    server = start_server(keep_answering(lambda _: chunked))

    assert client.get(server.url()).text == "hello, world"
    assert client.get(server.url()).text == "hello, world"  # the framing was read exactly
    assert server.connections == 1


def test_a_gzip_encoded_answer_is_decoded(
        start_server: StartServer, client: httpx.Client) -> None:
    text = "<WorkOrder>" + "compressible " * 1000 + "</WorkOrder>"
    server = start_server(keep_answering(lambda _: answer(
        gzip.compress(text.encode()), headers=[("Content-Encoding", "gzip")])))

    response = client.get(server.url())

    assert response.text == text
    assert "gzip" in (server.requests[0].header("accept-encoding") or "")


def test_a_head_answer_has_no_body_whatever_its_content_length(
        start_server: StartServer, client: httpx.Client) -> None:
    def respond(request: ReceivedRequest) -> bytes:
        if request.method == "HEAD":
            return answer(headers=[("Content-Length", "11")])
        return echo_target(request)
    server = start_server(keep_answering(respond))

    head = client.head(server.url())
    assert (head.content, head.headers["content-length"]) == (b"", "11")
    assert client.get(server.url("/next")).text == "/next"  # no body awaited, none taken
    assert server.connections == 1


@pytest.mark.parametrize("pieces", [
    [b"first ", b"second ", b"", b"third"],
    [],
], ids=["several-pieces", "empty"])
def test_a_streamed_request_body_arrives_whole_and_de_chunked(
        server: LocalServer, client: httpx.Client, pieces: list[bytes]) -> None:
    client.post(server.url("/upload"), content=iter(pieces))
    client.get(server.url("/next"))  # the chunked framing ended where the server expected

    streamed, following = server.requests
    assert streamed.header("transfer-encoding") == "chunked"
    assert streamed.header("content-length") is None
    assert streamed.body == b"".join(pieces)
    assert following.target == "/next"
    assert server.connections == 1


# -- errors --------------------------------------------------------------------------------
def _never_answers(peer: Peer) -> None:
    peer.read_request()
    peer.wait_for_eof()


def _closes_without_answering(peer: Peer) -> None:
    peer.read_request()


def _sends_less_than_its_content_length(peer: Peer) -> None:
    peer.read_request()
    peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this much")


def _sends_a_garbage_status_line(peer: Peer) -> None:
    peer.read_request()
    peer.send(b"NONSENSE\r\n\r\n")


MISBEHAVIOURS = pytest.mark.parametrize(("misbehaviour", "error"), [
    (_never_answers, httpx.ReadTimeout),
    (_closes_without_answering, httpx.RemoteProtocolError),
    (_sends_less_than_its_content_length, httpx.RemoteProtocolError),
    (_sends_a_garbage_status_line, httpx.RemoteProtocolError),
], ids=["never-answers", "closes-without-answering", "short-body", "garbage-status-line"])


@MISBEHAVIOURS
def test_a_misbehaving_server_raises_the_matching_httpx_error(
        start_server: StartServer, client: httpx.Client, misbehaviour: Handler,
        error: type[httpx.TransportError]) -> None:
    server = start_server(misbehaviour)

    started = time.monotonic()
    with pytest.raises(error):
        client.get(server.url(), timeout=SHORT_TIMEOUT)
    assert time.monotonic() - started < WAIT


@MISBEHAVIOURS
def test_after_a_failed_exchange_the_next_request_to_the_origin_succeeds(
        start_server: StartServer, client: httpx.Client, misbehaviour: Handler,
        error: type[httpx.TransportError]) -> None:
    # The first connection misbehaves, later ones are healthy: the failed connection must not
    # be kept (a late answer on it would be taken for the next request's).
    def first_misbehaves(peer: Peer) -> None:
        (misbehaviour if peer.number == 0 else keep_answering())(peer)
    server = start_server(first_misbehaves)

    with pytest.raises(error):
        client.get(server.url("/failing"), timeout=SHORT_TIMEOUT)
    assert client.get(server.url("/next"), timeout=SHORT_TIMEOUT).text == "/next"
    assert server.connections == 2


def test_a_late_answer_on_a_timed_out_connection_is_never_taken_for_the_next(
        start_server: StartServer, client: httpx.Client) -> None:
    def first_answers_late(peer: Peer) -> None:
        if peer.number == 0 and (request := peer.read_request()) is not None:
            time.sleep(SHORT_TIMEOUT * 1.5)
            peer.send(answer(b"late answer to " + request.target.encode()))
        keep_answering()(peer)
    server = start_server(first_answers_late)
    with pytest.raises(httpx.ReadTimeout):
        client.get(server.url("/slow"), timeout=SHORT_TIMEOUT)
    time.sleep(SHORT_TIMEOUT)  # the late answer is out by now

    assert client.get(server.url("/next")).text == "/next"
    assert server.connections == 2


def test_a_closed_port_raises_connect_error_and_the_client_still_works(
        server: LocalServer, client: httpx.Client) -> None:
    with pytest.raises(httpx.ConnectError):
        client.get(f"http://127.0.0.1:{closed_port()}/", timeout=SHORT_TIMEOUT)

    assert client.get(server.url("/healthy")).text == "/healthy"


def test_an_ftp_url_raises_unsupported_protocol(client: httpx.Client) -> None:
    with pytest.raises(httpx.UnsupportedProtocol, match="ftp://"):
        client.get("ftp://127.0.0.1/file.txt")


# -- HTTPS ---------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Certificate:
    cert_file: Path
    key_file: Path


def make_certificate(directory: Path, names: Sequence[str]) -> Certificate:
    """A self-signed certificate for ``names`` (IP addresses or DNS names), in PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "st-spectrum test")])
    alternatives: list[x509.GeneralName] = []
    for name in names:
        try:
            alternatives.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alternatives.append(x509.DNSName(name))
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return Certificate(cert_file, key_file)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost, made for this run."""
    return make_certificate(tmp_path_factory.mktemp("tls"), ["127.0.0.1", "localhost"])


def serving_tls(certificate: Certificate) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert_file, certificate.key_file)
    return context


@pytest.fixture
def tls_server(start_server: StartServer, certificate: Certificate) -> LocalServer:
    return start_server(tls=serving_tls(certificate))


def trusting(certificate: Certificate) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate.cert_file))


def test_https_to_an_untrusted_certificate_raises_connect_error(tls_server: LocalServer,
                                                                client: httpx.Client) -> None:
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        client.get(tls_server.url())
    assert tls_server.requests == []


def test_https_with_the_certificate_trusted_round_trips_on_one_kept_alive_connection(
        tls_server: LocalServer, certificate: Certificate) -> None:
    transport = StdlibTransport(verify=trusting(certificate))
    with httpx.Client(transport=transport, timeout=2.0) as client:
        first = client.get(tls_server.url("/one"))
        second = client.post(tls_server.url("/two"), content=b"over TLS")

    assert (first.text, second.text) == ("/one", "/two")
    assert tls_server.requests[1].body == b"over TLS"
    assert tls_server.connections == 1


def test_https_checks_the_host_name_against_the_certificate(
        start_server: StartServer, tmp_path: Path) -> None:
    elsewhere = make_certificate(tmp_path, ["spectrum.example.com"])
    server = start_server(tls=serving_tls(elsewhere))
    transport = StdlibTransport(verify=trusting(elsewhere))  # trusted, but not for 127.0.0.1
    with httpx.Client(transport=transport, timeout=2.0) as client, \
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        client.get(server.url())


def test_https_without_verification_accepts_any_certificate(tls_server: LocalServer) -> None:
    with httpx.Client(transport=StdlibTransport(verify=False), timeout=2.0) as client:
        assert client.get(tls_server.url("/unverified")).text == "/unverified"


# -- concurrency ---------------------------------------------------------------------------
def test_concurrent_requests_through_one_client_each_get_their_own_answer(
        server: LocalServer, client: httpx.Client) -> None:
    threads, each = 8, 25

    def run(worker: int) -> list[tuple[str, str]]:
        sent = [f"/echo?worker={worker}&n={n}" for n in range(each)]
        return [(target, client.get(server.url(target)).text) for target in sent]

    with ThreadPoolExecutor(threads) as pool:
        exchanges = [pair for pairs in pool.map(run, range(threads)) for pair in pairs]

    assert len(exchanges) == threads * each
    assert [(sent, got) for sent, got in exchanges if sent != got] == []
    assert server.connections <= threads


# -- closing -------------------------------------------------------------------------------
def test_closing_the_client_closes_its_idle_connections(server: LocalServer) -> None:
    client = httpx.Client(transport=StdlibTransport())
    client.get(server.url())
    assert not server.peers[0].ended.wait(0.05)  # kept open while idle

    client.close()

    assert server.peers[0].ended.wait(WAIT)  # the server read EOF


def test_a_connection_that_comes_back_after_close_is_closed_not_kept(
        server: LocalServer) -> None:
    transport = StdlibTransport()
    transport.close()

    response = transport.handle_request(httpx.Request("GET", server.url("/after-close")))

    assert response.read() == b"/after-close"
    assert server.peers[0].ended.wait(WAIT)


# -- the adapters' client ------------------------------------------------------------------
def test_a_cookieless_client_sends_through_the_stdlib_transport_by_default(
        server: LocalServer) -> None:
    with CookielessClient(timeout=2.0) as client:
        bodies = [client.get(server.url(f"/{n}")).text for n in range(3)]
        transport = client._transport

    assert bodies == ["/0", "/1", "/2"]
    assert server.connections == 1
    assert isinstance(transport, StdlibTransport)


def test_a_cookieless_client_verifies_https_with_the_context_it_is_given(
        tls_server: LocalServer, certificate: Certificate) -> None:
    with CookielessClient(verify=trusting(certificate), timeout=2.0) as client:
        assert client.get(tls_server.url("/trusted")).text == "/trusted"


def test_a_cookieless_client_still_sends_through_the_proxy_the_environment_names(
        start_server: StartServer, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = start_server()
    for name in ("http_proxy", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    target = f"http://127.0.0.1:{closed_port()}/ws/WorkOrder"  # reachable only via the proxy

    with CookielessClient(timeout=2.0) as client:
        response = client.get(target)

    assert response.text == target  # the proxy got the absolute-form request
