"""``python -m alsek``: the ``alsek`` command."""

if __name__ == "__main__":  # pragma: no cover - run as a program (imports nothing otherwise)
    from alsek.cli.main import main

    main(prog_name="alsek")
