"""Write files and folders whole or not at all.

Every file the project writes goes through here: it is written under a temporary name in
the same folder, flushed and fsynced, then renamed over the final name (a rename within
one folder is atomic), and the folder is fsynced so the rename itself survives a power
cut. A folder is built in a temporary sibling and renamed into place the same way; one
that replaces an existing folder is swapped in with one atomic exchange where the system
has it (Linux ``renameat2``, macOS ``renamex_np``), else moved aside first.

A kill leaves at most temporaries (``.NAME.tmp-PID-RANDOM``) next to the final path,
and the final path as it was before. :func:`remove_temporaries` cleans them up (and
moves back a folder that a kill left aside) when the next run starts; it touches only
names of exactly that form, which only this module makes, so a user's ``.draft.tmp`` or
``.profile.old-1`` in an output folder stays.

An output folder belongs to the project when the project created it (it holds
:data:`OWNER_MARK`, written by :func:`mark_output_folder`) or it is a run of the same
command from before that mark existed. :func:`check_output_folder` refuses any other
non-empty folder unless the caller passes ``overwrite`` (``--overwrite``), and even then
a run replaces only the names it writes itself, nothing else in the folder.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import secrets
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from ..errors import InvalidInputError

__all__ = [
    "FILES_MANIFEST",
    "OWNER_MARK",
    "atomic_dir",
    "atomic_file",
    "atomic_path",
    "check_output_folder",
    "mark_output_folder",
    "remove_temporaries",
    "remove_written",
    "write_bytes",
    "write_json",
    "write_text",
    "written_files",
]

TMP_MARK = ".tmp-"
_ASIDE_MARK = ".old-"
#: Only what :func:`temp_sibling` makes: ``.NAME.tmp-PID-HEX8`` / ``.NAME.old-PID-HEX8``.
_OURS = re.compile(r"^\.(?P<name>.+)(?P<mark>\.tmp-|\.old-)\d+-[0-9a-f]{8}$")
#: The file that marks an output folder as made by the project.
OWNER_MARK = ".napari-clipcap-run.json"


def temp_sibling(path: str | os.PathLike, mark: str = TMP_MARK) -> Path:
    """A new, unused name beside ``path``: ``.NAME.tmp-PID-RANDOM``."""
    p = Path(path)
    return p.with_name(f".{p.name}{mark}{os.getpid()}-{secrets.token_hex(4)}")


def fsync_dir(folder: str | os.PathLike) -> None:
    """Make a rename or a new entry in ``folder`` durable (a no-op where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # Windows and some file systems cannot fsync a folder
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _discard(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; write it, and it replaces ``path`` whole.

    For libraries that write to a path (``torch.save``, ``to_parquet``, rasterio). If
    the block raises, the temporary is removed and ``path`` is left as it was.
    """
    final = Path(path)
    tmp = temp_sibling(final)
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, final)
    except BaseException:
        _discard(tmp)
        raise
    fsync_dir(final.parent)


@contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb", **open_kw: Any) -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; on success it replaces ``path``.

    ``mode`` is ``"wb"`` or ``"w"`` (then ``encoding`` defaults to UTF-8).
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_file writes new files only, not mode {mode!r}")
    if mode == "w":
        open_kw.setdefault("encoding", "utf-8")
    with atomic_path(path) as tmp, open(tmp, mode, **open_kw) as f:
        yield f


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path``."""
    with atomic_file(path, "wb") as f:
        f.write(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns ``path``."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any, **dumps_kw: Any) -> Path:
    """Write ``obj`` as JSON (``indent=2`` unless given) to ``path`` atomically."""
    dumps_kw.setdefault("indent", 2)
    return write_text(path, json.dumps(obj, **dumps_kw))


def _fsync_tree(root: Path) -> None:
    for folder, _dirs, files in os.walk(root):
        for name in files:
            if not os.path.islink(os.path.join(folder, name)):  # a link: nothing to sync
                _fsync_file(Path(folder) / name)
        fsync_dir(folder)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one atomic step; False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
            at_fdcwd, rename_exchange = -100, 2
            rc = libc.renameat2(
                at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange
            )
        elif sys.platform == "darwin" and hasattr(libc, "renamex_np"):
            rc = libc.renamex_np(os.fsencode(a), os.fsencode(b), 2)  # RENAME_SWAP
        else:
            return False
    except (OSError, AttributeError, TypeError):
        return False
    return rc == 0


def replace_dir(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Move the folder ``src`` to ``dst``, replacing a folder there.

    Atomic when ``dst`` does not exist or the system can exchange two paths; otherwise the
    old folder is moved aside (``.NAME.old-*``) first, and :func:`remove_temporaries`
    moves it back if a kill comes before the new one is in place.
    """
    src, dst = Path(src), Path(dst)
    if not dst.exists():
        os.replace(src, dst)
    elif _exchange(src, dst):
        shutil.rmtree(src, ignore_errors=True)  # now holds the old folder
    else:
        aside = temp_sibling(dst, _ASIDE_MARK)
        os.replace(dst, aside)
        os.replace(src, dst)
        shutil.rmtree(aside, ignore_errors=True)
    fsync_dir(dst.parent)


@contextmanager
def atomic_dir(path: str | os.PathLike, *, keep_foreign: bool = False) -> Iterator[Path]:
    """Yield a new empty folder beside ``path``; fill it, and it replaces ``path`` whole.

    Every file in it is fsynced before the rename. If the block raises, the temporary
    folder is removed and ``path`` is left as it was.

    ``keep_foreign``: the folder is the project's inside a folder a user may keep notes
    in (a run's ``model/``, a checkpoint): what the block wrote is listed in
    :data:`FILES_MANIFEST`, and every entry of the old folder that the project did not
    write (not in the old folder's list, nor written now) is carried over into the new
    one (hard links where possible), so a swap replaces only the project's own files.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(final)
    tmp.mkdir()
    try:
        yield tmp
        if keep_foreign:
            _list_written(tmp)
            if final.is_dir() and not final.is_symlink():
                _carry_foreign(final, tmp, written_files(final))
        _fsync_tree(tmp)
        replace_dir(tmp, final)
    except BaseException:
        _discard(tmp)
        raise


#: In a folder written with ``atomic_dir(keep_foreign=True)``: the files the project
#: wrote there (paths relative to the folder); anything else there is the user's.
FILES_MANIFEST = ".napari-clipcap-files.json"


def _list_written(folder: Path) -> None:
    names = sorted(
        str(Path(root, name).relative_to(folder).as_posix())
        for root, _dirs, files in os.walk(folder)
        for name in files
        if name != FILES_MANIFEST
    )
    with open(folder / FILES_MANIFEST, "w", encoding="utf-8") as f:  # inside the new folder
        json.dump({"written_by": "napari-clipcap", "files": names}, f, indent=1)


def written_files(folder: str | os.PathLike) -> set[str] | None:
    """The files the project wrote in ``folder`` (relative paths), from its
    :data:`FILES_MANIFEST`; None when it has none (or it is not a plain readable list)."""
    mark = Path(folder) / FILES_MANIFEST
    if not mark.is_file() or mark.is_symlink():
        return None
    try:
        files = json.loads(mark.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(files, list):
        return None
    return {f for f in files if isinstance(f, str) and ".." not in Path(f).parts}


def _carry_foreign(old: Path, new: Path, ours: set[str] | None, prefix: str = "") -> None:
    """Copy (hard-link) into ``new`` each entry of ``old`` the project did not write."""
    for entry in old.iterdir():
        rel = f"{prefix}{entry.name}"
        if entry.name == FILES_MANIFEST or _OURS.match(entry.name):
            continue
        dst = new / entry.name
        if entry.is_dir() and not entry.is_symlink():
            if dst.exists() and not dst.is_dir():
                continue  # the project writes a file by that name now
            dst.mkdir(exist_ok=True)
            _carry_foreign(entry, dst, ours, f"{rel}/")
            if not any(dst.iterdir()):
                dst.rmdir()
        elif not (dst.exists() or dst.is_symlink()) and rel not in (ours or ()):
            if entry.is_symlink():
                os.symlink(os.readlink(entry), dst)  # the link itself, never followed
            else:
                _link_or_copy(entry, dst)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def remove_written(folder: str | os.PathLike) -> bool:
    """Delete the files the project wrote in ``folder`` (its :data:`FILES_MANIFEST`),
    then the folders they leave empty; the user's files and their folders stay.
    Returns whether ``folder`` itself is gone. A folder without the list is left alone."""
    root = Path(folder)
    ours = written_files(root)
    if ours is None or root.is_symlink():
        return False
    for rel in sorted(ours):
        p = root / rel
        if any(q.is_symlink() for q in [p, *p.parents] if root in q.parents):
            continue  # never through a link
        if p.is_file():
            p.unlink()
    for sub, _dirs, files in os.walk(root):  # the lists themselves (nested ones too)
        mark = Path(sub) / FILES_MANIFEST
        if FILES_MANIFEST in files and not mark.is_symlink():
            mark.unlink()
    for sub, _dirs, _files in sorted(os.walk(root), key=lambda t: -len(t[0])):
        try:
            os.rmdir(sub)  # only when empty
        except OSError:
            pass
    return not root.exists()


def remove_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Clean up after a killed writer in ``folder``; returns the paths removed.

    Only names of the form :func:`temp_sibling` makes are touched: temporaries
    (``.NAME.tmp-PID-HEX8``) are deleted; a folder moved aside (``.NAME.old-PID-HEX8``)
    is moved back when ``NAME`` is missing, else deleted. Any other file, dotted or not
    (``.draft.tmp``, ``.profile.old-1``), is the user's and stays. Call it only while no
    other process writes there.
    """
    root = Path(folder)
    if not root.is_dir() or root.is_symlink():
        return []
    removed = []
    for entry in sorted(root.iterdir()):
        m = _OURS.match(entry.name)
        if m is None:
            continue
        if m.group("mark") == _ASIDE_MARK:
            original = root / m.group("name")
            if not (original.exists() or original.is_symlink()):
                os.replace(entry, original)
                continue
        _discard(entry)
        removed.append(entry)
    if removed:
        fsync_dir(root)
    return removed


def _is_ours(out: Path, is_run: Callable[[Path], bool] | None) -> bool:
    """True for an empty folder, one the project marked, or a run ``is_run`` recognises."""
    with os.scandir(out) as entries:
        if next(entries, None) is None:
            return True
    mark = out / OWNER_MARK
    if mark.is_file() and not mark.is_symlink():
        return True
    return bool(is_run and is_run(out))


def mark_output_folder(path: str | os.PathLike, command: str) -> Path:
    """Create ``path`` if needed and mark it as the output folder of ``command``."""
    out = Path(path).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    if not (out / OWNER_MARK).exists():
        write_json(out / OWNER_MARK, {"created_by": "napari-clipcap", "command": command})
    return out


def check_output_folder(
    path: str | os.PathLike,
    what: str = "--out",
    *,
    owned: Callable[[Path], bool] | bool | None = None,
    overwrite: bool = False,
) -> Path:
    """Refuse an output folder that cannot be one, before anything is written.

    The path must be a folder or not exist yet, and its nearest existing parent must be a
    folder this process can write in.

    Parameters
    ----------
    owned : callable or True, optional
        Ask for a folder the project owns: missing, empty, marked by
        :func:`mark_output_folder`, or one ``owned(folder)`` recognises as an earlier run
        (True: only those). Any other non-empty folder is refused unless ``overwrite``.
    overwrite : bool
        Accept a non-empty folder the project did not make (the run then replaces only
        the names it writes).

    Raises
    ------
    InvalidInputError
        If ``path`` is a file, lies under a file, its parent is not writable, or it is a
        non-empty folder the project does not own (with ``owned``).
    """
    out = Path(path).expanduser()
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"{what} {out} is a file; give a folder")
    parent = out
    while not parent.exists():
        if parent.parent == parent:
            break
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise InvalidInputError(f"{what} {out} lies under {parent}, which is a file")
    target = out if out.exists() else parent
    if target.exists() and not os.access(target, os.W_OK | os.X_OK):
        raise InvalidInputError(f"{what} {out}: cannot write in {target} (permission denied)")
    is_run = owned if callable(owned) else None
    if owned and not overwrite and out.is_dir() and not _is_ours(out, is_run):
        raise InvalidInputError(
            f"{what} {out} is a folder napari-clipcap did not create and it is not empty; "
            "give a new or empty folder, or pass --overwrite to write this run's own files "
            "into it (nothing else there is touched)"
        )
    return out


def check_output_file(path: str | os.PathLike, what: str = "--out") -> Path:
    """Refuse an output file that cannot be written, before any model runs.

    Raises
    ------
    InvalidInputError
        One line, when ``path`` is a folder, its folder does not exist, lies under a
        file, or cannot be written in.
    """
    out = Path(path).expanduser()
    try:
        if out.is_dir():
            raise InvalidInputError(f"{what} {out} is a folder; give a file name")
        folder = out.parent
        ancestor = folder
        while not ancestor.exists() and ancestor.parent != ancestor:
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise InvalidInputError(f"{what} {out} lies under {ancestor}, which is a file")
        if ancestor != folder:
            raise InvalidInputError(f"{what} {out}: the folder {folder} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise InvalidInputError(f"{what} {out}: cannot write in {folder} (permission denied)")
        if out.exists() and not os.access(out, os.W_OK):
            raise InvalidInputError(f"{what} {out} exists and cannot be overwritten")
    except OSError as exc:  # a name too long for the file system, a broken mount
        raise InvalidInputError(f"{what} {out}: {exc.strerror or exc}") from None
    return out
