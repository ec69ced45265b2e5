"""The module's docbook (modules/redisroute/doc/) and its generated README.

- the docbook is well-formed (pure Python, no tool needed);
- every parameter, cfg function, RPC command, statistic, pseudo-variable
  field and KEMI function the C sources export is documented, parameters and
  functions the Kamailio way (section ids redisroute.p.<name>, default value,
  modparam example; redisroute.f.<name> with its routes and return codes),
  and the C API (bind_redisroute, api.h) in its own section;
- `make docs` validates the docbook against the DocBook DTD and builds the
  README, and the checked-in README is exactly what it generates.

The last part needs the doc tools (xsltproc, docbook-xsl, docbook-xml, lynx,
xmllint) and the Kamailio SDK in build/ (or the tree KAMAILIO_SRC names, as
for make); `make docs` installs the tools. It runs offline: every DTD and
stylesheet comes from Debian's XML catalog. The docbook's entities are at
../../../../doc/docbook, as in a Kamailio tree: `make docs` stages that
layout (mk/docs.mk).
"""

import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
import xml.parsers.expat as expat

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MOD = os.path.join(ROOT, "modules", "redisroute")
DOC = os.path.join(MOD, "doc")
MAIN_XML = os.path.join(DOC, "redisroute.xml")
ADMIN_XML = os.path.join(DOC, "redisroute_admin.xml")
README = os.path.join(MOD, "README")
# the SDK `make docs` uses: KAMAILIO_SRC (the environment reaches make too)
# or build/kamailio-src
SDK_DOCBOOK = os.path.join(
    os.path.abspath(os.environ.get("KAMAILIO_SRC")
                    or os.path.join(ROOT, "build", "kamailio-src")),
    "doc", "docbook")

# what `make docs` needs on the machine, besides the SDK
DOC_TOOLS = ("xsltproc", "xmllint", "lynx")
DOC_FILES = (
    "/usr/share/xml/docbook/stylesheet/docbook-xsl/xhtml/docbook.xsl",
    "/usr/share/xml/docbook/schema/dtd/4.4/docbookx.dtd",
    "/etc/xml/catalog",
)


def _src(name):
    with open(os.path.join(MOD, name), encoding="utf-8") as f:
        return f.read()


def _c_table(src, decl):
    """The initializer of the C array declared as `decl` (up to the `};`)."""
    m = re.search(re.escape(decl) + r"\s*\[\s*\]\s*=\s*\{(.*?)\n\};", src,
                  re.S)
    assert m, "no %s table" % decl
    return m.group(1)


def _entries(body, pattern):
    """Names matched by pattern in a table body; also checks that every
    non-terminating entry (a `{"` line) was matched, so that a change of the
    source layout cannot make the test pass on an empty list."""
    names = re.findall(pattern, body)
    assert len(names) == len(re.findall(r'\{\s*"', body)), (pattern, body)
    assert names, pattern
    return names


def exported_params():
    body = _c_table(_src("redisroute_mod.c"), "static param_export_t params")
    return _entries(body, r'\{\s*"([a-z0-9_]+)"\s*,\s*PARAM_')


# bind_* rows of cmd_export_t export the C API (api.h) to other modules:
# no parameters, no fixup, no route flags, never callable from a script
BIND_ROW = (r'\{\s*"(bind_[a-z0-9_]+)"\s*,\s*\(cmd_function\)\s*\w+\s*,'
            r'\s*0\s*,\s*0\s*,\s*0\s*,\s*0\s*\}')


def exported_api_binds():
    body = _c_table(_src("redisroute_mod.c"), "static cmd_export_t cmds")
    return re.findall(BIND_ROW, body)


def exported_functions():
    """The script functions: cmd_export_t less its bind_* (C API) rows, which
    the API section documents (test_api_documented)."""
    body = _c_table(_src("redisroute_mod.c"), "static cmd_export_t cmds")
    body = re.sub(BIND_ROW, "", body)
    found = re.findall(
        r'\{\s*"([a-z0-9_]+)"\s*,\s*\(cmd_function\)\s*\w+\s*,\s*(\d+)\s*,'
        r'.*?,\s*([A-Z_ |\n\t]+?)\s*\}', body, re.S)
    assert len(found) == len(re.findall(r'\{\s*"', body)), body
    funcs = {}
    for name, nparams, routes in found:
        f = funcs.setdefault(name, {"params": set(), "routes": set()})
        f["params"].add(int(nparams))
        f["routes"].update(r.strip() for r in routes.split("|"))
    assert funcs
    return funcs


def exported_rpcs():
    body = _c_table(_src("rdr_rpc.c"), "rpc_export_t rdr_rpc_cmds")
    return _entries(body, r'\{\s*"(redisroute\.[a-z0-9_]+)"\s*,')


def exported_stats():
    body = _c_table(_src("rdr_stats.c"), "stat_export_t rdr_stats_exports")
    return _entries(body, r'\{\s*"([a-z0-9_]+)"\s*,\s*\w+\s*,')


def exported_kemi():
    body = _c_table(_src("redisroute_mod.c"),
                    "static sr_kemi_t sr_kemi_redisroute_exports")
    # one RDR_KEMI("name", ...) row per export (redisroute_mod.c's macro)
    names = re.findall(r'RDR_KEMI\(\s*"([a-z0-9_]+)"\s*,', body)
    assert len(names) == body.count("RDR_KEMI(") and names
    return names


def pv_fields():
    src = _src("rdr_sip.c")
    body = src[src.index("int rdr_pv_parse_name"):src.index("int rdr_pv_get")]
    fields = re.findall(r'strncmp\(in->s,\s*"([a-z]+)"', body)
    fields += re.findall(r"in->s\[0\]\s*==\s*'([a-z])'", body)
    assert fields
    return fields


def parse_docbook(path):
    """Parses one docbook file into an ElementTree element. The entities
    (&kamailio; ...) live in the Kamailio SDK's entities.xml, loaded through
    a parameter entity; expat does not load it and hands the references to
    the skipped-entity handler, so well-formedness is checked without the SDK
    and without a network."""
    tb = ET.TreeBuilder()
    p = expat.ParserCreate()
    p.StartElementHandler = tb.start
    p.EndElementHandler = tb.end
    p.CharacterDataHandler = tb.data
    p.SkippedEntityHandler = (
        lambda name, is_pe: None if is_pe else tb.data("&%s;" % name))
    with open(path, "rb") as f:
        try:
            p.ParseFile(f)
        except expat.ExpatError as e:
            pytest.fail("%s is not well-formed: %s" % (path, e))
    return tb.close()


@pytest.fixture(scope="module")
def admin():
    return parse_docbook(ADMIN_XML)


def text(el):
    return re.sub(r"\s+", " ", "".join(el.itertext())).strip()


def section(admin, sid):
    found = admin.findall(".//section[@id='%s']" % sid)
    assert len(found) == 1, "no (or more than one) section id=%s" % sid
    return found[0]


def test_docbook_well_formed(admin):
    book = parse_docbook(MAIN_XML)
    assert book.tag == "book"
    includes = [el.get("href") for el in book.iter()
                if el.tag.endswith("include")]
    assert includes == ["redisroute_admin.xml"]
    assert admin.tag == "chapter"
    ids = [el.get("id") for el in admin.iter() if el.get("id")]
    assert len(ids) == len(set(ids)), "duplicate ids"
    # every cross reference points at an existing id
    for el in admin.iter("xref"):
        assert el.get("linkend") in ids, el.get("linkend")


def test_docbook_paths_are_in_tree():
    """As in-tree modules' docbooks: the entities and the doc machinery at
    ../../../../doc/docbook (from src/modules/redisroute/doc), nothing that
    points into this repository's build/."""
    want = ('<!ENTITY % docentities SYSTEM '
            '"../../../../doc/docbook/entities.xml">')
    for path in (MAIN_XML, ADMIN_XML):
        with open(path, encoding="iso-8859-1") as f:
            src = f.read()
        assert want in src, path
        assert "build/" not in src.split("]>", 1)[0], path
    with open(os.path.join(DOC, "Makefile"), encoding="utf-8") as f:
        mk = f.read()
    assert "docbook_dir = ../../../../doc/docbook" in mk
    assert "build/" not in mk


def test_top_sections(admin):
    titles = [text(s.find("title")) for s in admin.findall("section")]
    for want in ("Overview", "Dependencies", "Parameters", "Functions",
                 "Exported pseudo-variables", "RPC Commands", "Statistics",
                 "KEMI Functions"):
        assert want in titles, want
    deps = text(section(admin, "redisroute.dependencies"))
    for want in ("sl", "tm", "hiredis", "Redis server"):
        assert want in deps, want


def test_every_parameter_documented(admin):
    params = exported_params()
    mod = _src("redisroute_mod.c")
    documented = {s.get("id")[len("redisroute.p."):]
                  for s in admin.iter("section")
                  if (s.get("id") or "").startswith("redisroute.p.")}
    assert documented == set(params), "doc and param_export_t differ"
    for name in params:
        sec = section(admin, "redisroute.p." + name)
        assert text(sec.find("title")).startswith(name + " (")
        body = text(sec)
        assert "Default value is" in body, name
        example = sec.find("example/programlisting")
        assert example is not None, name
        assert re.search(r'modparam\("redisroute",\s*"%s",' % name,
                         text(example)), name
        # the documented default is the one in the source
        kind = re.search(r'\{\s*"%s"\s*,\s*PARAM_(STR|INT)\s*,\s*&(\w+)\}'
                         % name, mod).group(2)
        m = re.search(r"^(?:static )?(?:str|int) %s = (.*);$"
                      % re.escape(kind), mod, re.M)
        assert m, kind
        init = m.group(1)
        default = re.search(r"Default value is (.*?)\.(?: |$)", body).group(1)
        if init == "STR_NULL":
            assert default.startswith("empty"), (name, default)
        elif init.startswith("str_init"):
            value = re.match(r'str_init\("(.*)"\)', init).group(1)
            assert "\u201c%s\u201d" % value in default \
                or '"%s"' % value in default \
                or default.startswith(value), (name, default, value)
        else:
            assert re.match(r"%s\b" % re.escape(init), default), \
                (name, default, init)


ROUTE_NAMES = {
    "REQUEST_ROUTE": "REQUEST_ROUTE", "FAILURE_ROUTE": "FAILURE_ROUTE",
    "BRANCH_ROUTE": "BRANCH_ROUTE", "ONREPLY_ROUTE": "ONREPLY_ROUTE",
    "LOCAL_ROUTE": "LOCAL_ROUTE", "ANY_ROUTE": "ANY_ROUTE",
}


def test_every_function_documented(admin):
    funcs = exported_functions()
    documented = {s.get("id")[len("redisroute.f."):]
                  for s in admin.iter("section")
                  if (s.get("id") or "").startswith("redisroute.f.")}
    assert documented == set(funcs), "doc and cmd_export_t differ"
    for name, info in funcs.items():
        sec = section(admin, "redisroute.f." + name)
        title = text(sec.find("title"))
        assert title.startswith(name + "("), title
        # optional parameters in brackets: as many as the most the C takes
        assert (title.count("key") + title.count("code") + title.count("route")
                == max(info["params"]))
        body = text(sec)
        assert "Return codes" in body, name
        for route in info["routes"]:
            assert ROUTE_NAMES[route] in body, (name, route)
        for route in set(ROUTE_NAMES) - info["routes"]:
            assert route not in body, (name, route)
        example = sec.find("example/programlisting")
        assert example is not None and name + "(" in text(example), name
    # the return codes, once, for all functions
    codes = text(section(admin, "redisroute.functions"))
    for code in ("1", "-1", "-2", "-3", "-4", "-5"):
        assert re.search(r"(?:^| )%s done|(?:^| )%s [a-zA-Z]" % (code, code),
                         codes), code


def test_api_documented(admin):
    binds = exported_api_binds()
    assert binds == ["bind_redisroute"]
    api = text(section(admin, "redisroute.api"))
    header = _src("api.h")
    assert "api.h" in api
    for name in binds + ["redisroute_load_api", "redisroute_api_t"]:
        assert name in api and name in header, name
    # every member of the API structure is documented
    struct = re.search(r"typedef struct redisroute_api\s*\{(.*?)\}", header,
                       re.S).group(1)
    members = re.findall(r"(\w+)\s*;", struct)
    assert members
    for member in members:
        assert member + "(" in api, member
    for code in ("1", "-1", "-2", "-3"):
        assert code in api, code


def test_every_rpc_documented(admin):
    rpcs = exported_rpcs()
    documented = {s.get("id")[len("redisroute.r."):]
                  for s in admin.iter("section")
                  if (s.get("id") or "").startswith("redisroute.r.")}
    assert {"redisroute." + d for d in documented} == set(rpcs)
    for name in rpcs:
        sec = section(admin, "redisroute.r." + name[len("redisroute."):])
        assert text(sec.find("title")).split()[0] == name
        assert "kamcmd " + name in text(sec.find("programlisting"))


def test_every_statistic_documented(admin):
    stats = exported_stats()
    sec = section(admin, "redisroute.statistics")
    documented = [text(s.find("title")) for s in sec.findall("section")]
    assert sorted(documented) == sorted(stats)


def test_pv_and_kemi_documented(admin):
    pv = text(section(admin, "redisroute.pv"))
    assert "$redisroute(name)" in pv
    for field in pv_fields():
        assert re.search(r"(?:^| )%s - " % field, pv), field
    kemi = text(section(admin, "redisroute.kemi"))
    assert "KSR.redisroute" in kemi
    for name in exported_kemi():
        assert name + "(" in kemi, name


def _doc_tools_missing():
    missing = [t for t in DOC_TOOLS if shutil.which(t) is None]
    missing += [f for f in DOC_FILES if not os.path.exists(f)]
    if not os.path.exists(os.path.join(SDK_DOCBOOK, "entities.xml")):
        missing.append(SDK_DOCBOOK)
    return missing


def _normalize(s):
    # lynx prints neither dates nor paths; trailing blanks are not content
    return "\n".join(line.rstrip() for line in s.splitlines()).strip() + "\n"


def test_make_docs_builds_the_checked_in_readme():
    missing = _doc_tools_missing()
    # make deps (run by make test) installs them: missing tools are a failure
    assert not missing, ("doc tools missing (%s): run make deps"
                         % ", ".join(missing))
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "README")
        r = subprocess.run(
            ["make", "-s", "-C", ROOT, "docs", "DOCS_README=" + out],
            capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        with open(out, encoding="utf-8") as f:
            generated = f.read()
    with open(README, encoding="utf-8") as f:
        checked_in = f.read()
    assert generated.startswith("redisroute Module\n")
    assert _normalize(generated) == _normalize(checked_in), \
        "modules/redisroute/README is stale: run `make docs`"
    for name in (exported_params() + list(exported_functions())
                 + exported_api_binds() + exported_rpcs() + exported_stats()):
        assert name in generated, name
