package main

// Main is in a command: not listed.
func Main() {}

func main() {}
