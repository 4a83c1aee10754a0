"""A module no installed app imports: automations stored under its path must not be loaded."""

from automations import flow


class Hidden(flow.Automation):
    end = flow.End()
