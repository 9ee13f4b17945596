"""The one error every stage of a build raises when the new site cannot be made. Its own
module so that rendering and search can raise it without importing the writer, and the
CLI, watcher and server catch one type."""


class BuildError(Exception):
    """The new site could not be made (a page failed to render, the search index could not
    be built, a file could not be staged); the previous site is left as it was."""
