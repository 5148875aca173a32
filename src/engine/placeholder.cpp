// Placeholder so greentrain_engine builds before its first real source file; delete it then.
