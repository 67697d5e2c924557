# BUILD-file prelude (pants.toml: build_file_prelude_globs): the repo's resolves and layering rules.

# Every deployable kind has its own resolve; libraries used by several apps are parametrized over these.
RESOLVES = ("serving", "stream", "training", "dags")

# What tests may use on top of what their code may: the shared conftest and the real-service harness.
_TEST_ONLY = (
    "//conftest.py",        # the root conftest that exposes the harness fixtures
    "//libs/testing/**",    # the real-service harness itself
)


def riskloop_library(allowed_dependencies=("//libs/**",)):
    """Layer rules for a library under libs/: it may use third-party requirements and the given
    Riskloop libraries, never an app."""
    __dependencies_rules__(
        (
            {"type": "python_tests"}, # the library's tests (rules see the BUILD-file type)
            "/**",                    # its own files
            "//3rdparty/**",          # third-party requirements
            *_TEST_ONLY,              # the harness
            *allowed_dependencies,    # the Riskloop libraries it builds on
            "!*",                     # nothing else: in particular no app
        ),
        (
            "*",                      # the library's code and distribution
            "/**",                    # its own files
            "//3rdparty/**",          # third-party requirements
            *allowed_dependencies,    # the Riskloop libraries it builds on
            "!*",                     # nothing else: in particular no app
        ),
    )


def riskloop_app():
    """Layer rules for an app under apps/: it is thin glue over libraries and nothing but its own
    targets and the cross-package tests may depend on it."""
    __dependencies_rules__(
        (
            {"type": "python_tests"}, # the app's tests (rules see the BUILD-file type)
            "/**",                    # its own files
            "//3rdparty/**",          # third-party requirements
            "//libs/**",              # any library, the harness included
            "//conftest.py",          # the shared fixtures
            "!*",                     # no other app
        ),
        (
            "*",                # the app's code, PEX, image and distribution
            "/**",              # its own files
            "//3rdparty/**",    # third-party requirements
            "//libs/**",        # any library
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


def riskloop_image(app, pex, version, port=None, command=None):
    """An app's image: two stages, the PEX unpacked into a venv in the first so the runtime image starts
    without unzipping, with dependencies and sources in separate layers (sources change more often)."""
    venv = f"/opt/{app}"
    runtime = [
        "FROM python:3.11-slim",
        f"COPY --from=venv {venv} {venv}",
        "ENV MLFLOW_DISABLE_TELEMETRY=true BENTOML_DO_NOT_TRACK=true DO_NOT_TRACK=1 ENVIRONMENT=compose",
        *([f"EXPOSE {port}"] if port else []),
        "USER 65534",
        f'ENTRYPOINT ["{venv}/pex"]',
        *([f'CMD ["{command}"]'] if command else []),
    ]
    docker_image(
        name="image",
        repository=f"riskloop/{app}",
        image_tags=[version, "latest"],
        instructions=[
            "FROM python:3.11-slim AS venv",
            f"COPY apps.{app}/{pex}.pex /tmp/{pex}.pex",  # the pex_binary's output path; Pants infers the dependency
            f"RUN PEX_TOOLS=1 python /tmp/{pex}.pex venv --scope=deps --compile {venv} && "
            f"PEX_TOOLS=1 python /tmp/{pex}.pex venv --scope=srcs --compile {venv}",
            *runtime,
        ],
    )
