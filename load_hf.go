package bitnet

func loadHF(dir string) (*Model, error) { return nil, errNoHF }
