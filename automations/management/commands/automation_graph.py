from importlib import import_module
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from automations import diagram, registry


class Command(BaseCommand):
    help = (
        "Draw the flow diagram of an automation class from its declaration: SVG (the default), Graphviz "
        "dot or Mermaid text, to standard output or a file."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "automation", help="The dotted path of the automation class, e.g. shop.automations.Order."
        )
        parser.add_argument(
            "--format", choices=diagram.FORMATS, default="svg", help="svg (default), dot or mermaid."
        )
        parser.add_argument("-o", "--output", help="Write to this file instead of standard output.")
        parser.add_argument(
            "--counts", action="store_true",
            help="Number each node with the running instances waiting there (reads the database).",
        )  # fmt: skip

    def handle(self, *args, automation, format, output=None, counts=False, **options):
        graph = diagram.build_graph(automation_class(automation))
        text = diagram.render(graph, format, diagram.class_state(graph) if counts else None)
        if output:
            try:
                Path(output).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"Could not write {output}: {exc.strerror or exc}.") from None
            self.stderr.write(f"Wrote the {format} diagram of {graph.class_path} to {output}.")
        else:
            self.stdout.write(text, ending="")


def automation_class(path: str):
    """Return the automation class ``path`` names: a registered one, or one its module declares."""
    try:
        return registry.get(path)
    except registry.UnknownAutomationError:
        pass
    module_name, _, name = path.rpartition(".")
    if module_name:
        try:
            import_module(module_name)  # a command line is trusted: declaring the class registers it
        except ImportError:
            pass
    try:
        return registry.get(path)
    except registry.UnknownAutomationError:
        known = ", ".join(sorted(registry.all_automations())) or "none"
        raise CommandError(
            f"'{path}' is not an automation class. Give the dotted path of a flow.Automation subclass; "
            f"the registered ones are: {known}."
        ) from None
