"""A thin reference client for the Magic Hour audio API, sync and async, on httpx.

It speaks to the real API or to either mode of the fake. Unlike the official SDK, :meth:`wait`
has a timeout, and every error status raises one exception type, :class:`MagicHourError`.
Requests are described once (``_Call``); the two classes differ only in how they send them.
"""

from __future__ import annotations

import asyncio
import mimetypes
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

__all__ = ["DEFAULT_BASE_URL", "AsyncClient", "Client", "MagicHourError"]

DEFAULT_BASE_URL = "https://api.magichour.ai"
TERMINAL = frozenset({"complete", "error", "canceled"})


class MagicHourError(Exception):
    """A non-2xx answer: ``status``, the API's ``code`` and ``message``, and the raw ``body``."""

    def __init__(self, status: int, code: str | None, message: str, body: Any = None) -> None:
        self.status, self.code, self.message, self.body = status, code, message, body
        super().__init__(f"{status} {code or 'error'}: {message}")

    @classmethod
    def from_response(cls, response: httpx.Response) -> MagicHourError:
        """Build the error from an HTTP answer, JSON or not."""
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if isinstance(body, dict):
            return cls(response.status_code, body.get("code"), str(body.get("message", "")), body)
        return cls(response.status_code, None, str(body) or response.reason_phrase, body)


@dataclass(frozen=True)
class _Call:
    method: str
    path: str
    json: Any = None


def _voice(prompt: str, voice_name: str, name: str | None) -> _Call:
    return _Call(
        "POST", "/v1/ai-voice-generator", _named({"style": {"prompt": prompt, "voice_name": voice_name}}, name)
    )


def _clone(audio_file_path: str, prompt: str, name: str | None) -> _Call:
    body = {"assets": {"audio_file_path": audio_file_path}, "style": {"prompt": prompt}}
    return _Call("POST", "/v1/ai-voice-cloner", _named(body, name))


def _music(duration: int, prompt: str, lyrics: str | None, instrumental: bool | None, name: str | None) -> _Call:
    style: dict[str, Any] = {"prompt": prompt}
    if lyrics is not None:
        style["lyrics"] = lyrics
    if instrumental is not None:
        style["instrumental"] = instrumental
    return _Call("POST", "/v1/ai-music-generator", _named({"duration": duration, "style": style}, name))


def _named(body: dict[str, Any], name: str | None) -> dict[str, Any]:
    return body if name is None else {"name": name, **body}


def _upload_urls(path: Path) -> _Call:
    kind = (mimetypes.guess_type(path.name)[0] or "").split("/")[0]
    if kind not in ("audio", "video", "image"):
        raise ValueError(f"cannot tell whether {path.name} is audio, video or an image from its extension")
    return _Call("POST", "/v1/files/upload-urls", {"items": [{"type": kind, "extension": path.suffix[1:].lower()}]})


def _output_path(url: str, directory: Path) -> Path:
    return directory / Path(urlsplit(url).path).name


class _Base:
    def __init__(self, token: str, base_url: str) -> None:
        self.token = token
        self.base_url = base_url.rstrip("/")

    def _request_args(self, call: _Call) -> dict[str, Any]:
        args: dict[str, Any] = {"headers": {"authorization": f"Bearer {self.token}"}}
        if call.json is not None:
            args["json"] = call.json
        return args

    @staticmethod
    def _result(response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise MagicHourError.from_response(response)
        return response.json() if response.content else None


class Client(_Base):
    """Synchronous client. ``http_client`` lets you share or configure the httpx client."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(token, base_url)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout)

    def _send(self, call: _Call) -> Any:
        return self._result(self._http.request(call.method, self.base_url + call.path, **self._request_args(call)))

    def _object(self, call: _Call) -> dict[str, Any]:
        answer: dict[str, Any] = self._send(call)
        return answer

    def create_voice(self, prompt: str, voice_name: str, *, name: str | None = None) -> dict[str, Any]:
        """Start an AI voice generator job; returns ``{"id", "credits_charged"}``."""
        return self._object(_voice(prompt, voice_name, name))

    def clone_voice(self, audio_file_path: str, prompt: str, *, name: str | None = None) -> dict[str, Any]:
        """Start a voice cloner job from an uploaded ``api-assets/...`` path or a URL."""
        return self._object(_clone(audio_file_path, prompt, name))

    def create_music(
        self,
        duration: int,
        prompt: str,
        *,
        lyrics: str | None = None,
        instrumental: bool | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        """Start a music generator job of ``duration`` seconds."""
        return self._object(_music(duration, prompt, lyrics, instrumental, name))

    def get(self, project_id: str) -> dict[str, Any]:
        """The project's status, downloads and error."""
        return self._object(_Call("GET", f"/v1/audio-projects/{project_id}"))

    def delete(self, project_id: str) -> None:
        """Delete the project and its audio, irreversibly."""
        self._send(_Call("DELETE", f"/v1/audio-projects/{project_id}"))

    def account(self) -> dict[str, Any]:
        """The account of this token, with its live credit balance."""
        return self._object(_Call("GET", "/v1/account"))

    def upload_file(self, path: str | Path) -> str:
        """Upload a local file (upload URL + PUT); returns the ``api-assets/...`` path to use."""
        path = Path(path)
        item = self._send(_upload_urls(path))["items"][0]
        put = self._http.put(item["upload_url"], content=path.read_bytes())
        self._result(put)
        return str(item["file_path"])

    def wait(self, project_id: str, *, timeout: float = 120.0, interval: float = 0.5) -> dict[str, Any]:
        """Poll until the project is complete, error or canceled; TimeoutError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            project = self.get(project_id)
            if project["status"] in TERMINAL:
                return project
            if time.monotonic() >= deadline:
                raise TimeoutError(f"project {project_id} is still {project['status']} after {timeout} s")
            time.sleep(interval)

    def download(self, project: dict[str, Any], directory: str | Path) -> list[Path]:
        """Save every output of a complete project into ``directory``; returns the paths."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for item in project["downloads"]:
            response = self._http.get(item["url"])
            if response.status_code >= 400:
                raise MagicHourError.from_response(response)
            target = _output_path(item["url"], directory)
            target.write_bytes(response.content)
            paths.append(target)
        return paths

    def close(self) -> None:
        """Close the httpx client, unless it was passed in (then it is the caller's to close)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_Base):
    """Asynchronous client with the same methods as :class:`Client`, as coroutines."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(token, base_url)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=timeout)

    async def _send(self, call: _Call) -> Any:
        return self._result(
            await self._http.request(call.method, self.base_url + call.path, **self._request_args(call))
        )

    async def _object(self, call: _Call) -> dict[str, Any]:
        answer: dict[str, Any] = await self._send(call)
        return answer

    async def create_voice(self, prompt: str, voice_name: str, *, name: str | None = None) -> dict[str, Any]:
        """Start an AI voice generator job; returns ``{"id", "credits_charged"}``."""
        return await self._object(_voice(prompt, voice_name, name))

    async def clone_voice(self, audio_file_path: str, prompt: str, *, name: str | None = None) -> dict[str, Any]:
        """Start a voice cloner job from an uploaded ``api-assets/...`` path or a URL."""
        return await self._object(_clone(audio_file_path, prompt, name))

    async def create_music(
        self,
        duration: int,
        prompt: str,
        *,
        lyrics: str | None = None,
        instrumental: bool | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        """Start a music generator job of ``duration`` seconds."""
        return await self._object(_music(duration, prompt, lyrics, instrumental, name))

    async def get(self, project_id: str) -> dict[str, Any]:
        """The project's status, downloads and error."""
        return await self._object(_Call("GET", f"/v1/audio-projects/{project_id}"))

    async def delete(self, project_id: str) -> None:
        """Delete the project and its audio, irreversibly."""
        await self._send(_Call("DELETE", f"/v1/audio-projects/{project_id}"))

    async def account(self) -> dict[str, Any]:
        """The account of this token, with its live credit balance."""
        return await self._object(_Call("GET", "/v1/account"))

    async def upload_file(self, path: str | Path) -> str:
        """Upload a local file (upload URL + PUT); returns the ``api-assets/...`` path to use."""
        path = Path(path)
        item = (await self._send(_upload_urls(path)))["items"][0]
        self._result(await self._http.put(item["upload_url"], content=path.read_bytes()))
        return str(item["file_path"])

    async def wait(self, project_id: str, *, timeout: float = 120.0, interval: float = 0.5) -> dict[str, Any]:
        """Poll until the project is complete, error or canceled; TimeoutError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            project = await self.get(project_id)
            if project["status"] in TERMINAL:
                return project
            if time.monotonic() >= deadline:
                raise TimeoutError(f"project {project_id} is still {project['status']} after {timeout} s")
            await asyncio.sleep(interval)

    async def download(self, project: dict[str, Any], directory: str | Path) -> list[Path]:
        """Save every output of a complete project into ``directory``; returns the paths."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for item in project["downloads"]:
            response = await self._http.get(item["url"])
            if response.status_code >= 400:
                raise MagicHourError.from_response(response)
            target = _output_path(item["url"], directory)
            target.write_bytes(response.content)
            paths.append(target)
        return paths

    async def aclose(self) -> None:
        """Close the httpx client, unless it was passed in (then it is the caller's to close)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
