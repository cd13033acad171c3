"""Write `manifest.sha256` for a model folder whose `manifest.json` was edited by hand or by an older f2p.

`f2p train` and `infer.manifest.write_manifest` write the checksum themselves; the shipped
`resources/models/manifest.sha256` was made with this script:

    python3 scripts/seal_model_manifest.py resources/models
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from f2p_engine.errors import F2PError
from f2p_engine.infer.manifest import MANIFEST, load_manifest, seal_manifest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, metavar="DIR", help="model folder holding manifest.json")
    args = parser.parse_args()
    if not (args.models / MANIFEST).is_file():
        parser.error(f"{args.models / MANIFEST}: no model manifest")
    path = seal_manifest(args.models)
    try:
        load_manifest(args.models)  # the sealed manifest must also pass every other check
    except F2PError as exc:
        path.unlink()
        print(f"seal_model_manifest: error: {exc}", file=sys.stderr)
        return 2
    print(f"{path}: written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
