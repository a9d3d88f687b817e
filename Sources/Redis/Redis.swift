// The Redis module. See DESIGN.md in the README for its place in presignd.
