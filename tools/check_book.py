"""Open every page of the built book in headless Chromium and fail on what a reader would see.

Usage (after `make book`; `make check-book` runs this):

    .venv/bin/python tools/check_book.py [--html _build/html] [--screenshots _build/check-book]
                                         [--pages '**/*.html']

The book is served by a local http.server on 127.0.0.1 (a free port, started and stopped here)
and every page is loaded in headless Chromium (/usr/bin/chromium driven by
/usr/bin/chromedriver through selenium). One line per problem, `page: what: detail`, then
`N pages checked, M problems`. Exit status: 0 without problems, 1 with problems, 2 for bad
arguments, a missing build folder or a missing browser (one line on stderr).

What fails a page:

- `js error`: a browser log entry of level SEVERE from the page's scripts: an uncaught
  exception, an unhandled promise rejection, a syntax error, a `console.error` call.
- `failed request`: a SEVERE network entry for a URL on the local server (a 404 for one of
  the book's own files, say), except /favicon.ico (see below).
- `broken image`: an <img> of the book (local file or data: URI) whose naturalWidth is 0 once
  the document is complete and every image has finished loading. (An image from another host
  cannot load here, see below: like any external fetch it is not counted.)
- `log line in output`: a TensorFlow / absl / C++ log line or a Python warning in the text of
  a cell's output (div.cell_output, and div.output outside one); the prose is not checked.
- `gif`: a GIF that a page references (file or data: URI), or any .gif under the HTML folder,
  that Pillow cannot open, that has one frame only, or that does not loop forever
  (`info["loop"] != 0`; a GIF without the NETSCAPE loop block plays once).
- `unrendered markup`: markup left as text in the article (article.bd-article, else <main>)
  outside pre, code, code cells (div.cell_input), div.highlight and math. Cell outputs count:
  Markdown that a cell outputs, parsed as CommonMark (myst-nb's default), has no tables or
  roles. Printed text is a <pre> and does not count. Flagged: a pipe table's separator row
  (`|---|`, `|:--|`, `|—|`); a run of lines that start and end with "|" holding such a row or
  a row with two inner "|" or more (reported once, by its first line); a MyST role shown as
  text, with or without its backticks (`{ref}`, `{numref}`, `{doc}`, `{eq}`, `{term}`,
  `{cite}`, `{cite:t}`, `{glue}`, `{glue:text}`, ...); a directive fence (```` ```{figure} ````,
  `:::{note}`). The detail is a short excerpt; inline code right after a "}" is kept in the
  text, so a role left as text reads `{ref}target`.
- `overflow`: a code cell, a cell output or a code block (`pre` in div.cell_input,
  div.cell_output, div.highlight; not inside a table) wider than its box at the window's
  width, 1280 px (`scrollWidth > clientWidth + 1`), so a reader scrolls sideways. The detail
  gives the longest line's length in characters and its first 60 characters. Chromium
  measures a block in a closed <details> toggle (a hidden cell) too, as it would be open.

The rule for the browser log, and why each thing is ignored:

- The browser gets no network except loopback: `--host-resolver-rules` makes every host name
  fail to resolve, so the check gives the same answer offline (as here) and online. A failed
  *fetch* of an external URL (fonts, MathJax from cdn.jsdelivr.net, anything from unpkg or
  cdnjs) is therefore expected, is not a bug of the page, and its network entry is ignored.
- A JavaScript exception is never ignored, whatever caused it: if a page's own script throws
  because an external library did not load, the page breaks offline, and that is a bug. (No
  external script can run here, so every exception comes from the book's own scripts.)
- /favicon.ico on the local server: Chromium requests it by itself, the book links no favicon,
  and http.server answers 404. Not the page's fault.
- Entries below SEVERE (warnings, deprecation notices, verbose) are ignored.

The screenshots (full page, PNG) go to --screenshots, one per page, named after the page's
path with "/" replaced by "__", so a person can look.

The pure functions (log-line detection, unrendered markup, overflow details, GIF checks,
browser-log classification) need no selenium: selenium is imported only inside the functions
that drive the browser.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import functools
import http.server
import io
import re
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DEFAULT_HTML = Path("_build/html")
DEFAULT_SCREENSHOTS = Path("_build/check-book")
DEFAULT_PAGES = "**/*.html"
# Not pages: theme template fragments (_static/webpack-macros.html), sources, images.
SKIPPED_DIRS = ("_static", "_sources", "_images")
WINDOW = (1280, 900)
# Taller pages are cut at this height in their screenshot (one capture stays a sane size).
MAX_SCREENSHOT_HEIGHT = 16_000
PAGE_TIMEOUT_S = 60
IMAGES_TIMEOUT_S = 30
# Time after load for late errors (timers, promise rejections) to reach the log.
SETTLE_S = 0.5

# Lines in cell outputs that are logs, not results. Each pattern is searched line by line.
LOG_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # absl / glog prefix: "E0000 00:00:1796173508.379421    2654 meta_optimizer.cc:967] ..."
    ("absl log prefix", re.compile(r"^\s*[EWIF]\d{4} \d\d:\d\d:\d\d")),
    # TensorFlow's C++ logger: "2025-01-01 10:00:00.000000: I tensorflow/core/...cc:113] ..."
    (
        "TensorFlow C++ log",
        re.compile(r"^\s*\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [EWIF] \S+:\d+\]"),
    ),
    ("oneDNN", re.compile(r"oneDNN")),
    ("remapper failed", re.compile(r"remapper failed")),
    ("CUDA", re.compile(r"\bcuda|\bcu(?:DNN|BLAS|FFT|Init)\b", re.IGNORECASE)),
    ("absl::", re.compile(r"absl::")),
    ("TF-TRT", re.compile(r"TF-TRT")),
    ("computation placer", re.compile(r"computation placer", re.IGNORECASE)),
    ("TensorFlow logger", re.compile(r"\b(?:WARNING|ERROR|INFO):(?:tensorflow|absl)\b")),
    # warnings.showwarning: "/path/file.py:12: UserWarning: ..." (any *Warning category).
    ("Python warning", re.compile(r"\.py:\d+: [A-Z]\w*Warning:")),
    (
        "Python warning",
        re.compile(r"\b(?:UserWarning|DeprecationWarning|FutureWarning|RuntimeWarning):"),
    ),
)

# Markup that MyST should have turned into something else, found in the page's text outside
# code. A pipe-table line: starts and ends with "|" with at least one "|" between.
_PIPE_ROW = re.compile(r"^\|(?:[^|]*\|){2,}$")
# A table's separator row, anywhere in a line: |---|, |:---:|, |—|, |---|---|.
_TABLE_SEPARATOR = re.compile(r"\|(?:[ \t]*:?[-–—]+:?[ \t]*\|)+")
# A role left as text, its backticks kept or turned into inline code: {ref}`a` or {ref}a.
_ROLE = re.compile(
    r"(?<!\w)\{(?:ref|numref|doc|eq|term|cite(?::\w+)?|glue(?::\w+)?)\}`?[^\s`]{0,40}`?"
)
# A directive fence left as text: ```{figure} or :::{note}.
_FENCE = re.compile(r"(?:`{3,}|:{3,})[ \t]*\{[^\s}]*\}?")
EXCERPT_CHARS = 60


@dataclass(frozen=True, order=True)
class Problem:
    page: str
    what: str
    detail: str

    def __str__(self) -> str:
        return f"{self.page}: {self.what}: {self.detail}"


def _shorten(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------- pure checks (no browser)


def log_lines(text: str) -> list[tuple[str, str]]:
    """(kind, line) for every line of `text` that is a TensorFlow/absl/C++ log or a warning."""
    found = []
    for line in text.splitlines():
        for kind, pattern in LOG_PATTERNS:
            if pattern.search(line):
                found.append((kind, line.strip()))
                break
    return found


def _table_excerpts(lines: list[str]) -> list[str]:
    """First line of each run of pipe-table lines that has a separator row or a row of three
    or more cells, and each other line that holds a separator row."""
    found = []
    run: list[str] = []
    for line in [*lines, ""]:
        if _PIPE_ROW.match(line):
            run.append(line)
            continue
        if any(_TABLE_SEPARATOR.search(row) or row.count("|") >= 4 for row in run):
            found.append(run[0])
        run = []
        if match := _TABLE_SEPARATOR.search(line):
            found.append(match.group(0))
    return found


def unrendered_markup(text: str) -> list[str]:
    """Excerpts of `text` (a page's text outside code) that are markup left unrendered:
    pipe tables, MyST roles ({ref}, {cite:t}, {glue:text}, ...), directive fences."""
    lines = [line.strip() for line in text.splitlines()]
    found = _table_excerpts(lines)
    for line in lines:
        found += [match.group(0) for match in _ROLE.finditer(line)]
        found += [match.group(0) for match in _FENCE.finditer(line)]
    return [_shorten(excerpt, EXCERPT_CHARS) for excerpt in dict.fromkeys(found)]


def overflow_detail(kind: str, text: str) -> str:
    """Detail for a code or output block wider than the text column: its longest line."""
    longest = max(text.expandtabs().splitlines() or [""], key=len).rstrip()
    head = longest.strip()
    head = head if len(head) <= EXCERPT_CHARS else head[:EXCERPT_CHARS] + "..."
    return f"{kind}, longest line {len(longest)} characters: {head}"


def gif_problems(data: bytes) -> list[str]:
    """What is wrong with the GIF in `data` (empty when it animates and loops forever)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "GIF":
                return [f"not a GIF but {image.format}"]
            frames = getattr(image, "n_frames", 1)
            loop = image.info.get("loop")
    except (UnidentifiedImageError, OSError, ValueError) as error:
        return [f"Pillow cannot read it ({error})"]
    problems = []
    if frames <= 1:
        problems.append(f"{frames} frame, not an animation")
    if loop != 0:
        plays = "once (no loop block)" if loop is None else f"{loop + 1} times"
        problems.append(f"does not loop forever: loop={loop!r}, plays {plays}")
    return problems


def decode_data_uri(uri: str) -> bytes | None:
    """The bytes of a base64 data: URI, None when it is not one."""
    header, sep, payload = uri.partition(",")
    if not sep or not header.startswith("data:") or not header.endswith(";base64"):
        return None
    try:
        return base64.b64decode(urllib.parse.unquote(payload), validate=False)
    except (binascii.Error, ValueError):
        return None


def is_gif_reference(src: str) -> bool:
    if src.startswith("data:"):
        return src[5:].lower().startswith("image/gif")
    return urllib.parse.urlsplit(src).path.lower().endswith(".gif")


def local_path(url: str, origin: str, root: Path) -> Path | None:
    """The file under `root` that `url` on the local server `origin` names, else None."""
    parts = urllib.parse.urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != origin:
        return None
    relative = urllib.parse.unquote(parts.path).lstrip("/")
    path = (root / relative).resolve()
    return path if path.is_relative_to(root.resolve()) else None


_LOG_URL = re.compile(r"^(\S+?)(?: \d+:\d+)? ")


def console_problem(entry: dict, origin: str) -> Problem | None:
    """Problem for one browser-log entry on a page (page left empty), None when ignored.

    The rule is in the module docstring: exceptions always count, failed requests count only
    for the local server, /favicon.ico and non-SEVERE entries never.
    """
    if entry.get("level") != "SEVERE":
        return None
    message = str(entry.get("message", ""))
    source = entry.get("source", "")
    if source == "network":
        match = _LOG_URL.match(message)
        url = match.group(1) if match else ""
        if not url.startswith(origin + "/"):
            return None  # An external fetch, blocked on purpose: not a page bug.
        if urllib.parse.urlsplit(url).path == "/favicon.ico":
            return None  # Requested by Chromium itself; the book links no favicon.
        path = urllib.parse.urlsplit(url).path
        reason = message.split(" - ", 1)[-1]
        return Problem("", "failed request", _shorten(f"{path}: {reason}"))
    # Strip our own origin so the detail reads "book/intro.html 62:11 Uncaught ...".
    detail = message.replace(origin + "/", "")
    return Problem("", "js error", _shorten(detail, 300))


def screenshot_name(page: str) -> str:
    return page.removesuffix(".html").replace("/", "__") + ".png"


def find_pages(root: Path, pattern: str) -> list[str]:
    pages = []
    for path in sorted(root.glob(pattern)):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and relative.endswith(".html"):
            if relative.split("/", 1)[0] not in SKIPPED_DIRS:
                pages.append(relative)
    return pages


def check_gifs(
    references: dict[str, list[str]], origin: str, root: Path
) -> tuple[list[Problem], set[Path]]:
    """Problems of the GIFs each page references ({page: [src, ...]}), and the files seen."""
    problems: list[Problem] = []
    seen: set[Path] = set()
    for page, sources in references.items():
        for src in dict.fromkeys(sources):
            if src.startswith("data:"):
                data = decode_data_uri(src)
                label = f"data:image/gif URI of {len(src)} characters"
                if data is None:
                    problems.append(Problem(page, "gif", f"{label}: not base64"))
                    continue
            else:
                path = local_path(src, origin, root)
                if path is None:
                    problems.append(Problem(page, "gif", f"{src}: not a file of the book"))
                    continue
                label = path.relative_to(root.resolve()).as_posix()
                seen.add(path)
                if not path.is_file():
                    problems.append(Problem(page, "gif", f"{label}: missing"))
                    continue
                data = path.read_bytes()
            problems += [Problem(page, "gif", f"{label}: {what}") for what in gif_problems(data)]
    return problems, seen


def check_gif_files(root: Path, seen: set[Path]) -> list[Problem]:
    """Every .gif under the HTML folder that no page referenced (those are checked already)."""
    problems = []
    for path in sorted(root.rglob("*.gif")):
        if path.resolve() in seen:
            continue
        label = path.relative_to(root).as_posix()
        problems += [Problem(label, "gif", what) for what in gif_problems(path.read_bytes())]
    return problems


# ---------------------------------------------------------------- server and browser


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve `root` on 127.0.0.1 on a free port; yields the origin, http://127.0.0.1:PORT."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# Runs in the page: makes lazy images load now and says whether everything has loaded.
_LOADED_JS = """
for (const img of document.images) { if (img.loading === "lazy") img.loading = "eager"; }
return document.readyState === "complete"
    && Array.from(document.images).every(img => img.complete);
"""
_BROKEN_IMAGES_JS = """
return Array.from(document.images)
    .filter(img => img.complete && img.naturalWidth === 0)
    .map(img => img.currentSrc || img.src || img.outerHTML.slice(0, 200));
"""
# Output areas: div.cell_output (MyST-NB), and div.output blocks outside one.
_OUTPUT_TEXT_JS = """
const areas = Array.from(document.querySelectorAll("div.cell_output, div.output"))
    .filter(el => !el.parentElement.closest("div.cell_output, div.output"));
return areas.map(el => el.textContent);
"""
# The article's text outside code, math and scripts, a newline at each block's start. Inline
# code right after a "}" is kept: it is the target of a role left as text, {ref}<code>x</code>.
_PROSE_TEXT_JS = """
const root = document.querySelector("article.bd-article")
    || document.querySelector("main") || document.body;
const skip = "pre, .cell_input, .highlight, script, style, .math, mjx-container";
const blocks = "p, li, dt, dd, td, th, h1, h2, h3, h4, h5, h6, div, caption, figcaption";
const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
let text = "", block = null;
for (let node; (node = walker.nextNode()); ) {
    const el = node.parentElement, code = el.closest("code");
    if (el.closest(skip)) continue;
    if (code && !(code.previousSibling?.textContent || "").endsWith("}")) continue;
    if (el.closest(blocks) !== block) { block = el.closest(blocks); text += "\\n"; }
    text += node.nodeValue;
}
return text;
"""
# Code and output blocks wider than their box (a reader scrolls sideways): [kind, text].
_OVERFLOW_JS = """
return Array.from(document.querySelectorAll(
        "div.cell_input pre, div.cell_output pre, div.highlight pre"))
    .filter(pre => !pre.closest("table") && pre.scrollWidth > pre.clientWidth + 1)
    .map(pre => [pre.closest(".cell_input") ? "code cell"
        : pre.closest(".cell_output") ? "cell output" : "code block", pre.textContent]);
"""
_GIF_SOURCES_JS = """
const srcs = [];
for (const img of document.images) srcs.push(img.currentSrc || img.src);
for (const el of document.querySelectorAll("source[src], a[href], object[data]"))
    srcs.push(el.src || el.href || el.data);
return srcs.filter(s => typeof s === "string" && s.length > 0);
"""


def _start_browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        print(_usage_error("selenium is not installed: run make check-book"), file=sys.stderr)
        raise SystemExit(2) from None
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # Chromium refuses to run as root with its sandbox.
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--hide-scrollbars",
        # Loopback only: every host but 127.0.0.1 fails to resolve, at once, online or not.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(PAGE_TIMEOUT_S)
    return driver


def _wait_loaded(driver) -> bool:
    deadline = time.monotonic() + IMAGES_TIMEOUT_S
    while time.monotonic() < deadline:
        if driver.execute_script(_LOADED_JS):
            return True
        time.sleep(0.1)
    return False


def _screenshot(driver, path: Path) -> None:
    """Full page: make the window as tall as the page, so sticky sidebars render as a reader
    sees them at the top, not shifted as a capture beyond the viewport shows them."""
    height = driver.execute_script(
        "return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight);"
    )
    width = WINDOW[0]
    try:
        driver.set_window_size(width, min(max(int(height), WINDOW[1]), MAX_SCREENSHOT_HEIGHT))
        time.sleep(0.3)  # let the layout settle at the new size
        path.write_bytes(driver.get_screenshot_as_png())
    finally:
        driver.set_window_size(*WINDOW)


def _broken_images(driver, origin: str, page: str) -> tuple[list[Problem], set[str]]:
    """Broken images of the loaded page, and the URL paths of the local ones."""
    problems = []
    broken_paths = set()
    for src in driver.execute_script(_BROKEN_IMAGES_JS):
        if src.startswith(origin + "/"):
            broken_paths.add(urllib.parse.urlsplit(src).path)
            shown = src.removeprefix(origin + "/")
        elif src.startswith("data:"):
            shown = src[:40] + "..."
        else:
            continue  # An external image: its fetch is blocked on purpose (module docstring).
        problems.append(Problem(page, "broken image", f"{shown} has naturalWidth 0"))
    return problems, broken_paths


def _text_problems(driver, page: str) -> list[Problem]:
    """Log lines in outputs, markup left unrendered, code and outputs wider than the column."""
    problems = []
    for text in driver.execute_script(_OUTPUT_TEXT_JS):
        for kind, line in log_lines(text):
            problems.append(Problem(page, "log line in output", f"{kind}: {_shorten(line)}"))
    for excerpt in unrendered_markup(driver.execute_script(_PROSE_TEXT_JS)):
        problems.append(Problem(page, "unrendered markup", excerpt))
    for kind, text in driver.execute_script(_OVERFLOW_JS):
        problems.append(Problem(page, "overflow", overflow_detail(kind, text)))
    return problems


def check_page(driver, origin: str, page: str, screenshots: Path) -> tuple[list[Problem], list]:
    """Problems of one page, and the GIF sources it references."""
    from selenium.common.exceptions import TimeoutException, WebDriverException

    problems: list[Problem] = []
    url = f"{origin}/{urllib.parse.quote(page)}"
    try:
        driver.get(url)
    except TimeoutException:
        problems.append(Problem(page, "load", f"not loaded after {PAGE_TIMEOUT_S} s"))
    except WebDriverException as error:
        problems.append(Problem(page, "load", _shorten(str(error).splitlines()[0])))
        driver.get_log("browser")  # drop this page's entries, or the next page gets them
        return problems, []
    if not _wait_loaded(driver):
        problems.append(Problem(page, "load", f"images still loading after {IMAGES_TIMEOUT_S} s"))
    time.sleep(SETTLE_S)

    image_problems, broken_paths = _broken_images(driver, origin, page)
    problems += image_problems + _text_problems(driver, page)
    gif_sources = [s for s in driver.execute_script(_GIF_SOURCES_JS) if is_gif_reference(s)]

    try:
        _screenshot(driver, screenshots / screenshot_name(page))
    except WebDriverException as error:
        problems.append(Problem(page, "screenshot", _shorten(str(error).splitlines()[0])))

    # Last, so that errors raised while the checks ran are in the log too.
    for entry in driver.get_log("browser"):
        problem = console_problem(entry, origin)
        if problem is None:
            continue
        if problem.what == "failed request" and problem.detail.split(":")[0] in broken_paths:
            continue  # The same image, reported once as a broken image.
        problems.append(Problem(page, problem.what, problem.detail))
    return problems, gif_sources


def check_book(root: Path, pages: Iterable[str], screenshots: Path) -> list[Problem]:
    screenshots.mkdir(parents=True, exist_ok=True)
    for old in screenshots.glob("*.png"):
        old.unlink()
    problems: list[Problem] = []
    references: dict[str, list[str]] = {}
    with serve(root) as origin:
        driver = _start_browser()
        try:
            for page in pages:
                page_problems, references[page] = check_page(driver, origin, page, screenshots)
                problems += page_problems
        finally:
            driver.quit()
        gif_found, seen = check_gifs(references, origin, root)
    problems += gif_found
    problems += check_gif_files(root, seen)
    return problems


# ---------------------------------------------------------------- command line


def _usage_error(message: str) -> str:
    return f"check_book.py: {message}"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # One line on stderr, exit status 2.
        print(_usage_error(f"{message} (see --help)"), file=sys.stderr)
        raise SystemExit(2)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = _Parser(
        prog="check_book.py",
        description="Open every page of the built book in headless Chromium and report problems.",
    )
    parser.add_argument(
        "--html", type=Path, default=DEFAULT_HTML, help=f"built book (default {DEFAULT_HTML})"
    )
    parser.add_argument(
        "--screenshots",
        type=Path,
        default=DEFAULT_SCREENSHOTS,
        help=f"folder for full-page PNGs, emptied first (default {DEFAULT_SCREENSHOTS})",
    )
    parser.add_argument(
        "--pages",
        default=DEFAULT_PAGES,
        help=f"glob of pages relative to --html (default {DEFAULT_PAGES!r}; _static/ skipped)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = args.html.resolve()
    if not (root / "index.html").is_file():
        print(_usage_error(f"no built book in {args.html}: run make book first"), file=sys.stderr)
        return 2
    try:
        pages = find_pages(root, args.pages)
    except (ValueError, NotImplementedError) as error:
        print(_usage_error(f"bad --pages {args.pages!r}: {error}"), file=sys.stderr)
        return 2
    if not pages:
        print(_usage_error(f"no page in {args.html} matches {args.pages!r}"), file=sys.stderr)
        return 2
    for program in (CHROMIUM, CHROMEDRIVER):
        if not Path(program).exists():
            print(_usage_error(f"{program} missing: run make check-book"), file=sys.stderr)
            return 2

    # Grouped by page in page order, each page's problems in the order found, repeats once.
    found = list(dict.fromkeys(check_book(root, pages, args.screenshots)))
    order = {page: index for index, page in enumerate(pages)}
    problems = sorted(found, key=lambda problem: order.get(problem.page, len(order)))
    for problem in problems:
        print(problem)
    print(f"Screenshots in {args.screenshots}/")
    print(f"{len(pages)} pages checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
