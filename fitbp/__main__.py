from fitbp.cli import main

main()
