"""Pure data types shared by every stage: the element schema, problems, signals, events."""
