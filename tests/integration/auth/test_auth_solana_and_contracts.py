"""Solana sign-in (CAIP-122 + Ed25519) and smart-contract wallets (ERC-1271, EIP-6492 wrapping)."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import base58
import httpx
import pytest
import uvicorn
from auth_helpers import assert_rejected
from eth_account import Account
from nacl.signing import SigningKey

from atlas.app import create_app
from atlas.auth.signatures import ERC1271_MAGIC, ERC6492_SUFFIX, decode_evm_signature, recover_eoa
from atlas.client.auth import sign_evm, sign_in_solana, solana_address

MAINNET = "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"


async def _solana_challenge(client: httpx.AsyncClient, key: SigningKey) -> dict[str, Any]:
    resp = await client.post("/v1/auth/challenge", json={"address": solana_address(key), "chain": f"solana:{MAINNET}"})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def test_solana_sign_in_with_base58_signature(client: httpx.AsyncClient) -> None:
    key = SigningKey.generate()
    challenge = await _solana_challenge(client, key)
    assert " wants you to sign in with your Solana account:\n" in challenge["message"]
    assert f"\nChain ID: {MAINNET}\n" in challenge["message"]
    signature = base58.b58encode(key.sign(challenge["message"].encode()).signature).decode()
    resp = await client.post("/v1/auth/connect-wallet", json={"message": challenge["message"], "signature": signature})
    assert resp.status_code == 200, resp.text
    assert resp.json()["wallet"] == solana_address(key)  # base58 is case-sensitive: returned as is
    assert resp.json()["chain"] == f"solana:{MAINNET}"


async def test_solana_wrong_key_and_replay(client: httpx.AsyncClient) -> None:
    key = SigningKey.generate()
    challenge = await _solana_challenge(client, key)
    forged = base64.b64encode(SigningKey.generate().sign(challenge["message"].encode()).signature).decode()
    resp = await client.post("/v1/auth/connect-wallet", json={"message": challenge["message"], "signature": forged})
    assert_rejected(resp, 401, "signature_invalid")
    good = base64.b64encode(key.sign(challenge["message"].encode()).signature).decode()
    body = {"message": challenge["message"], "signature": good}
    assert (await client.post("/v1/auth/connect-wallet", json=body)).status_code == 200
    assert_rejected(await client.post("/v1/auth/connect-wallet", json=body), 401, "nonce_reused")


async def test_solana_session_is_one_account(client: httpx.AsyncClient) -> None:
    me = await sign_in_solana(client)
    session = (await client.get("/v1/auth/session", headers=me.headers)).json()
    assert session["wallet"] == me.wallet
    assert session["chain_id"] == f"solana:{MAINNET}"


async def test_solana_disabled(make_settings: Any) -> None:
    app = create_app(make_settings(solana_chains=()))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
            key = SigningKey.generate()
            resp = await http.post(
                "/v1/auth/challenge", json={"address": solana_address(key), "chain": f"solana:{MAINNET}"}
            )
            assert resp.status_code == 400
            assert resp.json()["code"] == "chain_not_allowed"


# -- smart-contract wallets ------------------------------------------------------------------------


class FakeChain:
    """A JSON-RPC endpoint with one deployed smart wallet whose ERC-1271 check accepts its owner's
    EIP-191-style signature over the digest (as many real wallets do)."""

    def __init__(self, wallet: str, owner: Any) -> None:
        self.wallet = wallet.lower()
        self.owner = owner.address.lower()
        self.calls: list[str] = []

    def is_valid(self, data: bytes) -> bool:
        if data[:4] != ERC1271_MAGIC:
            return False
        digest = data[4:36]
        length = int.from_bytes(data[68:100], "big")
        signature = data[100 : 100 + length]
        return recover_eoa(digest, signature) == self.owner

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        req = json.loads(body)
        self.calls.append(req["method"])
        params = req["params"]
        result: str
        if req["method"] == "eth_chainId":
            result = "0x1"
        elif req["method"] == "eth_getCode":
            result = "0x6080" if params[0].lower() == self.wallet else "0x"
        elif req["method"] == "eth_call":
            ok = params[0]["to"].lower() == self.wallet and self.is_valid(bytes.fromhex(params[0]["data"][2:]))
            result = "0x" + (ERC1271_MAGIC if ok else b"\xff\xff\xff\xff").hex() + "00" * 28
        else:
            result = "0x"
        payload = json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": result}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": payload})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def chain_rpc() -> AsyncIterator[tuple[str, FakeChain]]:
    owner = Account.create()
    wallet = Account.create().address  # stands in for the contract's address
    chain = FakeChain(wallet, owner)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(chain, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    chain.owner_account = owner  # type: ignore[attr-defined]  # handed to the test
    chain.wallet_address = wallet  # type: ignore[attr-defined]
    yield f"http://127.0.0.1:{port}", chain
    server.should_exit = True
    await task


async def test_contract_wallet_without_rpc_is_unsupported(client: httpx.AsyncClient) -> None:
    owner, wallet = Account.create(), Account.create().address
    challenge = (await client.post("/v1/auth/challenge", json={"address": wallet})).json()
    signature = sign_evm(owner, challenge["message"]) + ERC6492_SUFFIX.hex()
    resp = await client.post("/v1/auth/connect-wallet", json={"message": challenge["message"], "signature": signature})
    assert_rejected(resp, 401, "contract_wallet_unsupported")


async def test_erc1271_wallet_signs_in_through_rpc(make_settings: Any, chain_rpc: tuple[str, FakeChain]) -> None:
    url, chain = chain_rpc
    owner, wallet = chain.owner_account, chain.wallet_address  # type: ignore[attr-defined]
    app = create_app(make_settings(evm_rpc_url=url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
            # The owner key signs for the contract wallet: recovery gives the owner, so ERC-1271 decides.
            challenge = (await http.post("/v1/auth/challenge", json={"address": wallet})).json()
            signature = sign_evm(owner, challenge["message"])
            resp = await http.post(
                "/v1/auth/connect-wallet", json={"message": challenge["message"], "signature": signature}
            )
            assert resp.status_code == 200, resp.text
            assert resp.json()["wallet"] == wallet.lower()
            assert "eth_call" in chain.calls
            # A stranger's signature is refused by the contract.
            challenge = (await http.post("/v1/auth/challenge", json={"address": wallet})).json()
            resp = await http.post(
                "/v1/auth/connect-wallet",
                json={"message": challenge["message"], "signature": sign_evm(Account.create(), challenge["message"])},
            )
            assert_rejected(resp, 401, "signature_invalid")
            # An ordinary EOA elsewhere still signs in without touching the contract path.
            eoa = Account.create()
            challenge = (await http.post("/v1/auth/challenge", json={"address": eoa.address})).json()
            resp = await http.post(
                "/v1/auth/connect-wallet",
                json={"message": challenge["message"], "signature": sign_evm(eoa, challenge["message"])},
            )
            assert resp.status_code == 200


async def test_eip6492_wrapped_signature_of_deployed_wallet(
    make_settings: Any, chain_rpc: tuple[str, FakeChain]
) -> None:
    url, chain = chain_rpc
    owner, wallet = chain.owner_account, chain.wallet_address  # type: ignore[attr-defined]
    app = create_app(make_settings(evm_rpc_url=url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
            challenge = (await http.post("/v1/auth/challenge", json={"address": wallet})).json()
            inner = decode_evm_signature(sign_evm(owner, challenge["message"]))
            factory, calldata = b"\x11" * 20, b"\xde\xad\xbe\xef"
            wrapped = _abi_address_bytes_bytes(factory, calldata, inner) + ERC6492_SUFFIX
            resp = await http.post(
                "/v1/auth/connect-wallet", json={"message": challenge["message"], "signature": "0x" + wrapped.hex()}
            )
            assert resp.status_code == 200, resp.text


def _abi_address_bytes_bytes(address: bytes, first: bytes, second: bytes) -> bytes:
    def tail(data: bytes) -> bytes:
        return len(data).to_bytes(32, "big") + data + b"\x00" * (-len(data) % 32)

    head_size = 96
    first_tail = tail(first)
    return (
        b"\x00" * 12
        + address
        + head_size.to_bytes(32, "big")
        + (head_size + len(first_tail)).to_bytes(32, "big")
        + first_tail
        + tail(second)
    )
