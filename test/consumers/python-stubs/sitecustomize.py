# Debian 12 ships semver 2.10, whose VersionInfo is what semver 3 calls Version (the Pulumi SDK asks for semver~=3.0).
import semver
if not hasattr(semver, "Version"):
    semver.Version = semver.VersionInfo
