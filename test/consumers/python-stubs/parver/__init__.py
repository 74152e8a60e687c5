# Stand-in for parver (not packaged in Debian 12) covering what the generated SDK's _utilities uses: release
# versions "X.Y.Z" only; anything else is refused rather than guessed.
import re


class Version:
    def __init__(self, release):
        self.release = release
        self.pre_tag = None
        self.pre = None
        self.dev = None
        self.local = None

    @classmethod
    def parse(cls, text):
        m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", text)
        if not m:
            raise ValueError(f"parver stand-in handles X.Y.Z only, got {text!r}")
        return cls(tuple(int(g) for g in m.groups()))
