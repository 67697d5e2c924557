# BUILD-file prelude (pants.toml: build_file_prelude_globs): the repo's resolves and layering rules.

# Every deployable kind has its own resolve; libraries used by several apps are parametrized over these.
RESOLVES = ("serving", "stream", "training", "dags")


def riskloop_library(allowed_dependencies=("//libs/**",)):
    """Layer rules for a library under libs/: it may use third-party requirements and the given
    Riskloop libraries, never an app."""
    __dependencies_rules__(
        (
            "*",                      # every target of this library
            "/**",                    # its own files
            "//3rdparty/**",          # third-party requirements
            "//conftest.py",          # the shared test harness fixtures
            *allowed_dependencies,    # the Riskloop libraries it builds on
            "!*",                     # nothing else: in particular no app
        ),
    )


def riskloop_app():
    """Layer rules for an app under apps/: it is thin glue over libraries and nothing but its own
    targets and the cross-package tests may depend on it."""
    __dependencies_rules__(
        (
            "*",                # every target of this app
            "/**",              # its own files
            "//3rdparty/**",    # third-party requirements
            "//libs/**",        # any library
            "//conftest.py",    # the shared test harness fixtures
            "!*",               # no other app
        ),
    )
    __dependents_rules__(
        (
            "*",                # every target of this app
            "/**",              # its own targets (pex_binary, docker_image, tests)
            "//tests/**",       # end-to-end tests that run the app
            "//bench/**",       # benchmarks that drive the app
            "!*",               # no library and no other app
        ),
    )
