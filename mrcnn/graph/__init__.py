"""The Mask R-CNN graph: backbone, FPN, RPN, heads, and the function that wires both modes."""
