from wds_edge.cli import main

main()
