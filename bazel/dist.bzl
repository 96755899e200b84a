"""Installable libraries: one static archive, one shared library and one
pkg-config file made from every object of a set of cc_library targets.

Bazel 4 has no cc_static_library, and a cc_binary(linkshared) links its deps
as archives, so a library nobody references would be dropped. This rule
takes the objects themselves from the deps' CcInfo, so the installed
libraries are exactly what the BUILD files list, in whichever mode the build
was configured (--define LOCKCHECK=1 or not).
"""

load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain")

def _objects(linking_context):
    """PIC objects of every library to link (PIC: the .so needs them)."""
    objs = []
    for linker_input in linking_context.linker_inputs.to_list():
        for lib in linker_input.libraries:
            objs.extend(lib.pic_objects or lib.objects)
    return objs

def _link_flags(linking_context):
    flags = []
    for linker_input in linking_context.linker_inputs.to_list():
        for flag in linker_input.user_link_flags:
            if flag not in flags:
                flags.append(flag)
    return flags

def _archive(ctx, cc_toolchain, objs, out):
    # "q", not "r": objects with one basename in two packages both stay.
    args = ctx.actions.args()
    args.add("qcsD")
    args.add(out)
    args.add_all(objs)
    ctx.actions.run(
        executable = cc_toolchain.ar_executable,
        arguments = [args],
        inputs = depset(objs, transitive = [cc_toolchain.all_files]),
        outputs = [out],
        mnemonic = "DistArchive",
        progress_message = "Archiving %s" % out.short_path,
    )

def _shared(ctx, cc_toolchain, objs, flags):
    feature_configuration = cc_common.configure_features(
        ctx = ctx,
        cc_toolchain = cc_toolchain,
        requested_features = ctx.features,
        unsupported_features = ctx.disabled_features,
    )
    soname = "lib%s.so" % ctx.attr.libname
    linking_outputs = cc_common.link(
        actions = ctx.actions,
        feature_configuration = feature_configuration,
        cc_toolchain = cc_toolchain,
        compilation_outputs = cc_common.create_compilation_outputs(
            objects = depset(objs),
            pic_objects = depset(objs),
        ),
        # --as-needed: the toolchain adds -lstdc++ -lm to every link.
        user_link_flags = ["-Wl,--as-needed"] + flags + ["-Wl,-soname," + soname],
        name = ctx.attr.libname,
        language = "c++",
        output_type = "dynamic_library",
    )
    return linking_outputs.library_to_link.resolved_symlink_dynamic_library or \
           linking_outputs.library_to_link.dynamic_library

def _pkgconfig(ctx, cc_info, flags, out):
    defines = ["-D" + d for d in cc_info.compilation_context.defines.to_list()]
    ctx.actions.expand_template(
        template = ctx.file.pc_template,
        output = out,
        substitutions = {
            "@NAME@": ctx.attr.libname,
            "@CFLAGS@": " ".join(defines),
            "@LIBS@": " ".join(flags),
            "@VERSION@": ctx.attr.version,
        },
    )

def _dist_library_impl(ctx):
    cc_toolchain = find_cpp_toolchain(ctx)
    cc_info = cc_common.merge_cc_infos(cc_infos = [d[CcInfo] for d in ctx.attr.deps])
    objs = _objects(cc_info.linking_context)
    flags = _link_flags(cc_info.linking_context)

    archive = ctx.actions.declare_file("lib%s.a" % ctx.attr.libname)
    _archive(ctx, cc_toolchain, objs, archive)
    shared = _shared(ctx, cc_toolchain, objs, flags)
    pc = ctx.actions.declare_file("%s.pc" % ctx.attr.libname)
    _pkgconfig(ctx, cc_info, flags, pc)
    return [DefaultInfo(files = depset([archive, shared, pc]))]

dist_library = rule(
    implementation = _dist_library_impl,
    doc = "lib<libname>.a, lib<libname>.so and <libname>.pc from deps' objects.",
    attrs = {
        "deps": attr.label_list(providers = [CcInfo]),
        "libname": attr.string(mandatory = True),
        "pc_template": attr.label(allow_single_file = [".in"], mandatory = True),
        "version": attr.string(default = "0.1"),
        "_cc_toolchain": attr.label(
            default = Label("@bazel_tools//tools/cpp:current_cc_toolchain"),
        ),
    },
    fragments = ["cpp"],
    toolchains = ["@bazel_tools//tools/cpp:toolchain_type"],
    incompatible_use_toolchain_transition = True,
)
