"""``slmops init SOURCE``: a new profile from any model the user has, after judging whether it converts.

SOURCE is a model folder, a .gguf file, ORG/NAME (the Hugging Face cache), ollama:NAME[:TAG] or
lmstudio:PUBLISHER/REPOSITORY. A GGUF is judged from its header first, then turned once into a
Hugging Face folder in the data folder.
"""

from __future__ import annotations

import argparse
import sys

from engine.base.choices import DEFAULT_PRECISION, Precision
from engine.base.units import article, human_bytes
from engine.cli.output import fail, print_json, run_job
from engine.profiles.profile import TEMPLATE_FAMILIES

JSON = "print what was found and written as JSON"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("init", help="make a profile for your own model (inspects it and checks that it converts)")
    parser.add_argument(
        "source",
        help="a model folder, a .gguf file, ORG/NAME (Hugging Face cache), ollama:NAME[:TAG] or lmstudio:PUBLISHER/REPOSITORY",
    )
    parser.add_argument("--name", default="", help="profile name (default: from the folder's name)")
    parser.add_argument("--deploy-name", default="", help="model name in Foundry Local (default: NAME-PRECISION)")
    parser.add_argument(
        "--precision", choices=[p.value for p in Precision], help=f"default: {DEFAULT_PRECISION}, which every machine can run"
    )
    parser.add_argument(
        "--template",
        choices=[t for t in TEMPLATE_FAMILIES if t not in ("auto", "custom")],
        help="prompt template family (default: the tokenizer's; plain completion when it has none)",
    )
    parser.add_argument(
        "--guide",
        action="store_true",
        help="convert with the guide's command (olive auto-opt int4) instead of the recommended recipe",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing profile of that name")
    parser.set_defaults(handler=handle)


def describe_model(info) -> list[str]:
    tied = {True: "tied", False: "separate", None: "unknown"}[info.tied_embeddings]
    return [
        f"model      {info.path}",
        f"type       {info.model_type or '?'} ({info.architecture or 'no architecture'})",
        f"size       {info.parameters / 1e6:.0f}M parameters, {human_bytes(info.size_bytes)} on disk "
        f"({', '.join(info.dtypes) or '?'})",
        f"context    {info.context_length or '?'} tokens; {info.layers or '?'} layers; embeddings {tied}",
        f"template   {info.template_name}" + ("" if info.chat_template else " (no chat template in the tokenizer)"),
        "code       "
        + ("ships Python code (auto_map): needs trust_remote_code" if info.remote_code else "none (no trust_remote_code needed)"),
    ]


def exists(proposal, as_json: bool) -> int:
    return fail(
        "init",
        f"a profile {proposal.path} already exists.",
        "Pass --name for another one, or --force to replace it.",
        as_json=as_json,
    )


def handle(args: argparse.Namespace) -> int:
    from engine.profiles.new_profile import folder_job, judge, propose, write

    out = sys.stderr if args.json else sys.stdout
    judged = judge(args.source, precision=Precision(args.precision or DEFAULT_PRECISION))

    def proposed(info=None):
        return propose(
            judged.model_folder,
            name=args.name,
            precision=args.precision or "",
            deploy_name=args.deploy_name,
            template=args.template or "",
            guide=args.guide,
            source=judged.source,
            info=info,
        )

    if judged.source.kind == "gguf":  # judged from the header: say so before anything is written
        source = judged.source  # a path given is the file itself: named once
        where = str(source.gguf) if source.store == "path" else f"{source.reference} ({source.store}): {source.gguf}"
        print(f"source     {where}", file=out)
        for line in describe_model(judged.info)[1:]:
            print(line, file=out)
        print(f"verdict    {judged.verdict.summary()}", file=out)
        if not judged.verdict.ok:
            raise judged.verdict.error()
        folder = judged.folder
        if folder is None:
            print("folder     none: the converter streams straight from the GGUF", file=out)
        elif folder.reuse:
            print(f"folder     {folder.output} (made from this file before: reused)", file=out)
        elif (early := proposed(judged.info)).exists and not args.force:
            return exists(early, args.json)  # said before minutes of work, not after
        else:
            print(
                f"folder     turning it into {article(folder.dtype)} Hugging Face folder: {folder.output} (once)",
                file=out,
                flush=True,
            )
            job = run_job(folder_job(judged), quiet=args.json)
            if not job.finished.ok:  # its progress lines have said why; JSON callers get it as JSON
                if not args.json:
                    return 1
                error = job.error
                return fail("init", error.message if error else "cancelled", error.hint if error else "", as_json=True)
    proposal = proposed()
    verdict = proposal.verdict
    # a GGUF was described from its header above: of its folder, only where it is and what it weighs
    described = describe_model(proposal.info)[:3] if judged.source.kind == "gguf" else describe_model(proposal.info)
    for line in described:
        print(line, file=out)
    print(f"verdict    {verdict.summary()}", file=out)
    for note in verdict.notes:
        print(f"note       {note}", file=out)
    if not verdict.ok:
        return fail(
            "init",
            f"{verdict.model_type or 'this model'} cannot be converted here: {verdict.reason}",
            verdict.hint,
            as_json=args.json,
        )
    if proposal.exists and not args.force:
        return exists(proposal, args.json)
    path = write(proposal, overwrite=args.force)
    if args.json:
        print_json({"ok": True, "written": str(path), **proposal.to_dict(), "source": judged.to_dict()["source"]})
        return 0
    for reason in proposal.reasons:
        print(f"chose      {reason}")
    print(f"\nwrote {path}:\n")
    print(proposal.profile.to_toml())
    print(f"next: slmops run --profile {proposal.profile.name}   (convert, verify, deploy, benchmark)")
    print(f"  or: slmops convert --profile {proposal.profile.name}, or open the app: slmops --profile {proposal.profile.name}")
    return 0
