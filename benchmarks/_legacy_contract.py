"""The previous generated-script contract (before issue #9), kept for _legacy_validator.py only.

The generated-script contract, stated once for the templates, the validator and the docs.

A generated script:

- imports only ``meta_agent.tools`` (``from meta_agent.tools import ...``: registered tools and
  the script helpers listed in ``TOOL_HELPERS``) and the standard-library modules in
  ``MODULE_ALLOWLIST`` (some restricted to the attributes listed there);
- finds its parameters and its results directory through the sandbox's environment
  variables (``meta_agent.sandbox.base``): ``PARAMS_FILE = Path(os.environ["META_AGENT_PARAMS"])``
  and ``RESULTS_DIR = Path(os.environ["META_AGENT_RESULTS_DIR"])``, each assigned once;
- reads nothing but ``PARAMS_FILE`` and files under ``RESULTS_DIR``, writes only under
  ``RESULTS_DIR`` (paths built as ``RESULTS_DIR / "name.ext"``);
- logs each step, and ends by writing ``RESULTS_DIR / "result.json"`` with its key figures.

Validation is a pre-filter: the container the sandbox starts is the security boundary.
"""

from __future__ import annotations

PARAMS_ENV = "META_AGENT_PARAMS"
RESULTS_ENV = "META_AGENT_RESULTS_DIR"
PARAMS_NAME = "PARAMS_FILE"
RESULTS_NAME = "RESULTS_DIR"
RESULT_JSON = "result.json"
TOOLS_MODULE = "meta_agent.tools"
# Environment variables a script may read (the sandbox sets them; none holds a secret).
ENV_PREFIX = "META_AGENT_"

# Names importable from meta_agent.tools besides the registered tools themselves.
TOOL_HELPERS = frozenset({"default_registry", "call_tool", "run_tool", "get_tool", "ToolInputError",
                          "CalculationError", "CalculationWarning"})
# Calls whose first argument names a tool: ``call_tool("calculate_dscr", ...)``,
# ``registry.get("calculate_dscr")``; the name must be a constant and registered.
TOOL_DISPATCH_FUNCS = frozenset({"call_tool", "run_tool", "get_tool"})
TOOL_DISPATCH_METHODS = frozenset({"get", "call", "run", "execute"})

# Module -> attributes a script may use (None: every public attribute).
MODULE_ALLOWLIST: dict[str, frozenset[str] | None] = {
    "json": None,
    "math": None,
    "statistics": None,
    "decimal": None,
    "fractions": None,
    "numbers": None,
    "datetime": None,
    "calendar": None,
    "collections": None,
    "itertools": None,
    "functools": frozenset({"reduce", "lru_cache", "cache", "cmp_to_key", "total_ordering", "wraps"}),
    "heapq": None,
    "bisect": None,
    "copy": None,
    "dataclasses": None,
    "enum": None,
    "re": None,
    "textwrap": None,
    "pprint": None,
    "csv": None,
    "uuid": None,
    "operator": frozenset({"itemgetter", "add", "sub", "mul", "truediv", "floordiv", "neg", "abs",
                           "lt", "le", "gt", "ge", "eq", "ne"}),
    "string": frozenset({"ascii_letters", "ascii_lowercase", "ascii_uppercase", "digits",
                         "hexdigits", "punctuation", "whitespace", "capwords"}),
    "typing": frozenset({"Any", "Optional", "Union", "Iterable", "Iterator", "Sequence", "Mapping",
                         "MutableMapping", "List", "Dict", "Tuple", "Set", "NamedTuple", "TypedDict",
                         "Callable", "Literal", "Final"}),
    "time": frozenset({"time", "perf_counter", "monotonic", "strftime", "gmtime", "localtime"}),
    "logging": frozenset({"getLogger", "basicConfig", "DEBUG", "INFO", "WARNING", "ERROR",
                          "CRITICAL", "Logger", "LoggerAdapter", "StreamHandler", "Formatter",
                          "debug", "info", "warning", "error", "exception", "captureWarnings"}),
    "pathlib": frozenset({"Path", "PurePath", "PurePosixPath"}),
    "sys": frozenset({"argv", "exit", "stdout", "stderr", "version_info", "float_info", "maxsize"}),
    "os": frozenset({"environ", "getenv", "path", "sep", "linesep", "fspath"}),
    "os.path": frozenset({"join", "basename", "splitext", "exists", "isfile", "isdir"}),
    "traceback": frozenset({"format_exc", "print_exc"}),
    "warnings": frozenset({"catch_warnings", "simplefilter", "filterwarnings", "warn"}),
}

# Modules whose only purpose here would be to import or run code by name.
DYNAMIC_IMPORT_MODULES = frozenset({"importlib", "imp", "runpy", "pkgutil", "zipimport", "builtins",
                                    "__builtin__", "code", "codeop"})

# Builtins that execute code, import by name, or reach into namespaces.
CODE_EXEC_BUILTINS = frozenset({"eval", "exec", "compile"})
REFLECTION_BUILTINS = frozenset({"globals", "locals", "vars", "setattr", "delattr", "getattr",
                                 "hasattr"})
FORBIDDEN_BUILTINS = frozenset({"breakpoint", "input", "help", "memoryview", "__import__"})

# Attributes that lead from an object to frames, code and namespaces.
FRAME_ATTRS = frozenset({"gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code",
                         "f_globals", "f_locals", "f_builtins", "f_back", "f_code", "tb_frame",
                         "tb_next", "co_code", "co_consts", "func_globals", "func_code", "mro"})

# Dunders a script may name: the main guard and docstrings; dunder methods it may define.
ALLOWED_DUNDER_NAMES = frozenset({"__name__", "__doc__"})
ALLOWED_DUNDER_STRINGS = frozenset({"__main__"})
ALLOWED_DUNDER_DEFS = frozenset({"__init__", "__post_init__", "__repr__", "__str__", "__eq__",
                                 "__lt__", "__le__", "__gt__", "__ge__", "__hash__", "__len__",
                                 "__iter__", "__next__", "__enter__", "__exit__", "__contains__"})

# Path methods that read, and those that write or change the file system.
PATH_READ_METHODS = frozenset({"read_text", "read_bytes", "iterdir", "glob", "rglob", "readlink"})
PATH_WRITE_METHODS = frozenset({"write_text", "write_bytes", "unlink", "rename", "replace", "rmdir",
                                "mkdir", "touch", "symlink_to", "hardlink_to", "link_to", "chmod",
                                "lchmod"})
# Keyword arguments of tool calls that name a file to write.
PATH_KWARGS = frozenset({"path", "output_path", "out_path", "file", "filename", "file_path",
                         "dest", "destination", "output", "output_file", "directory", "chart_path"})
# Keyword arguments that move the results directory itself: only RESULTS_DIR may be passed.
ROOT_KWARGS = frozenset({"results_dir", "root", "base_dir"})

# Bandit tests not applied (noise for generated code); everything else rejects.
BANDIT_SKIP = frozenset({"B101"})
