"""What a workspace that depends on @lockcheck needs to build offline.

In the user's WORKSPACE, after the local_repository named "lockcheck":

    load("@lockcheck//bazel:deps.bzl", "lockcheck_dependencies")
    lockcheck_dependencies()

Bazel 4 (Debian's bazel-bootstrap) asks for @rules_cc, @rules_java and
@remote_coverage_tools even for plain C builds and would download them;
these declare the stand-ins in @lockcheck's third_party/ instead (see
third_party/README.md). A repository the workspace already declares is
left as it is.
"""

_SHIMS = ["rules_cc", "rules_java", "remote_coverage_tools"]

def _shim_impl(rctx):
    # @lockcheck's own directory, found from a file of it.
    root = rctx.path(rctx.attr.anchor).dirname.dirname
    src = root.get_child("third_party").get_child(rctx.attr.shim)
    if not src.exists:
        fail("lockcheck: no stand-in at %s" % src)
    for child in src.readdir():
        rctx.symlink(child, child.basename)

_shim_repository = repository_rule(
    implementation = _shim_impl,
    attrs = {
        "anchor": attr.label(allow_single_file = True),
        "shim": attr.string(mandatory = True),
    },
    local = True,
)

def lockcheck_dependencies():
    """Declares the offline stand-ins the workspace does not have yet."""
    for name in _SHIMS:
        if not native.existing_rule(name):
            _shim_repository(
                name = name,
                anchor = Label("//bazel:deps.bzl"),
                shim = name,
            )
