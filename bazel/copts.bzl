"""Compiler options for the project's own code (not for third_party)."""

# Warnings are errors in our code. gnu11: the init macros use one statement
# expression (marked __extension__), and the checker uses C11 atomics.
LC_COPTS = [
    "-std=gnu11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wshadow",
    "-Wstrict-prototypes",
    "-Wmissing-prototypes",
]

# Tests and benchmarks: the same warnings; Check's macros need no exceptions.
LC_TEST_COPTS = LC_COPTS
