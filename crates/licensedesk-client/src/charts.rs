//! Charts as SVG strings (plotters). Placeholder until the next commit.
