"""A Django app holding the flows of Viewflow's side of the side-by-side benchmark."""
