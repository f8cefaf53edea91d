// Filled in by the format work (issue 3).
