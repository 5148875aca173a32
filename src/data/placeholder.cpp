// Placeholder so greentrain_data builds before its first real source file; delete it then.
