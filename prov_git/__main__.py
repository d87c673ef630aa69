from prov_git.cli import main

main()
