"""What a validation style costs a cold start: the chat's body declared three ways, each in fresh processes.

    .venv/bin/python -m bench.validation [runs]     (default 30; interleaved; medians and minimums)

Each child imports lib.errors first (every route does), then times, with process_time and perf_counter, the
import of the validator, the building of the chat body's schema and one parse: pydantic (a strict BaseModel, as
tests/test_properties.py keeps it), pydantic_core alone (a SchemaValidator, no pydantic), and lib/validate.py.
"""

import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

STYLES = {
    "nothing (the probe itself)": "",
    "pydantic: import, BaseModel": """
from pydantic import BaseModel, ConfigDict, StrictBool, StrictStr, field_validator

class Chat(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: StrictStr | None = None
    systemPrompt: StrictStr | None = None
    conversationId: StrictStr | None = None
    model: StrictStr | None = None
    stream: StrictBool = False
    askAssistant: StrictBool = False
    regenerate: StrictBool | None = None

    @field_validator("stream", mode="before")
    @classmethod
    def _null_is_absent(cls, value):
        return False if value is None else value

Chat.model_validate(BODY)
""",
    "pydantic_core: SchemaValidator": """
from pydantic_core import SchemaValidator, core_schema as cs

def optional(schema):
    return cs.typed_dict_field(cs.with_default_schema(cs.nullable_schema(schema), default=None), required=False)

chat = SchemaValidator(cs.typed_dict_schema({
    **{name: optional(cs.str_schema(strict=True)) for name in ("message", "systemPrompt", "conversationId", "model")},
    "stream": optional(cs.bool_schema(strict=True)), "regenerate": optional(cs.bool_schema(strict=True)),
    "askAssistant": cs.typed_dict_field(cs.with_default_schema(cs.bool_schema(strict=True), default=False),
                                        required=False),
}, extra_behavior="forbid"))
chat.validate_python(BODY)
""",
    "lib/validate.py: Body": """
from lib.validate import Body, Field

chat = Body(dict, message=Field(str, nullable=True), systemPrompt=Field(str, nullable=True),
            conversationId=Field(str, nullable=True), model=Field(str, nullable=True),
            stream=Field(bool, nullable=True), askAssistant=Field(bool), regenerate=Field(bool, nullable=True))
chat.parse(BODY)
""",
}

PROBE = """
import sys, time
sys.path.insert(0, {root!r})
import lib.errors
BODY = {{"message": "Bonjour", "stream": True}}
source = compile({source!r}, "style", "exec")
exec(compile("pass", "warm", "exec"), {{}})  # the first exec's own cost, out of the timing
wall, cpu = time.perf_counter(), time.process_time()
exec(source, {{"BODY": BODY, "__name__": "style"}})
print(time.perf_counter() - wall, time.process_time() - cpu)
"""


def main(runs: int) -> None:
    env = {**os.environ}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # modules load from bytecode, as on a deployed function
    times = {name: ([], []) for name in STYLES}
    for run in range(runs + 1):
        for name, source in STYLES.items():
            answer = subprocess.run([sys.executable, "-c", PROBE.format(root=str(ROOT), source=source)], env=env,
                                    capture_output=True, text=True, check=True)
            if run:  # the first round writes bytecode and warms the disk cache
                wall, cpu = (float(value) * 1000 for value in answer.stdout.split())
                times[name][0].append(cpu)
                times[name][1].append(wall)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"Python {sys.version.split()[0]}, {runs} fresh processes per style; load average (1, 5, 15 min) {load}")
    for name, (cpu, wall) in times.items():
        print(f"{name:34s} CPU median {statistics.median(cpu):7.2f} ms (min {min(cpu):6.2f})   "
              f"wall median {statistics.median(wall):7.2f} ms (min {min(wall):6.2f})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
