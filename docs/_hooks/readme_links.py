"""mkdocs hook: the home page is the README, whose links are relative to the repository's root.

On the site the page lives in docs/, so a link such as ``docs/playground.png`` must lose its
``docs/`` prefix to find the file beside the page. (The snippet include happens after this hook,
so the hook reads the README itself.)
"""

from pathlib import Path


def on_page_markdown(markdown: str, page, config, **kwargs) -> str:
    if page.file.src_uri != "index.md":
        return markdown
    readme = Path(config["docs_dir"]).parent / "README.md"
    return readme.read_text(encoding="utf-8").replace("](docs/", "](")
