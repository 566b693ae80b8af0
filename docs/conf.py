"""Sphinx configuration of the skgmvae documentation.

Build with ``sphinx-build -b html docs docs/_build/html`` from the repository
root. The gallery in ``examples/`` is executed during the build.
"""

import os
import sys

# make the package importable without installing it
sys.path.insert(0, os.path.abspath(".."))

import skgmvae  # noqa: E402

project = "skgmvae"
author = "the skgmvae developers"
copyright = "the skgmvae developers"
version = release = skgmvae.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "examples", "**.ipynb_checkpoints"]

# -- API reference -----------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"
# page tables of contents list "fit()", not "GMVAEClustering.fit()"
toc_object_entries_show_parents = "hide"
# methods are listed by the class template, not by numpydoc
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# -- Markdown pages ----------------------------------------------------------
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3

# -- Gallery -----------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
    "min_reported_time": 1,
    "reference_url": {},
}

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skgmvae {release}"
html_static_path = []
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    # the page's table of contents on the right, except on gallery pages,
    # which give that width to their code and figures
    "secondary_sidebar_items": {
        pattern: ["page-toc"]
        for pattern in ("index", "api", "design_choices", "scaling", "user_guide/*", "generated/*")
    },
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": []}
html_show_sourcelink = False
