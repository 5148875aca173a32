// Placeholder so greentrain_energy builds before its first real source file; delete it then.
