using Acp.GptOss.Tools;
using Acp.GptOss.Tools.Local;

namespace Acp.GptOss.Tests.Tools;

/// <summary>
/// A temporary folder holding a workspace ("ws"), a sibling whose name extends it ("wsx", for the prefix trick), an
/// extra root ("extra") and a folder outside all of them ("outside"). Deleted afterwards.
/// </summary>
internal sealed class TempWorkspace : IDisposable
{
    public TempWorkspace()
    {
        // The temp folder may itself be reached through a symlink (macOS /tmp): work from its real path.
        Root = new WorkspaceRoots(Directory.CreateTempSubdirectory("acp-gptoss-tools-").FullName).Cwd;
        Directory.CreateDirectory(Workspace);
        Directory.CreateDirectory(Sibling);
        Directory.CreateDirectory(Extra);
        Directory.CreateDirectory(Outside);
        File.WriteAllText(Path.Combine(Outside, "secret.txt"), "secret\n");
        Roots = new WorkspaceRoots(Workspace, [Extra]);
        Files = new LocalFiles(Roots);
        Search = new LocalSearch(Roots);
    }

    public string Root { get; }

    public string Workspace => Path.Combine(Root, "ws");

    public string Sibling => Path.Combine(Root, "wsx");

    public string Extra => Path.Combine(Root, "extra");

    public string Outside => Path.Combine(Root, "outside");

    public WorkspaceRoots Roots { get; }

    public LocalFiles Files { get; }

    public LocalSearch Search { get; }

    /// <summary>Writes a file under the workspace, making its folders.</summary>
    public string Write(string relative, string content)
    {
        string full = Path.Combine(Workspace, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        return full;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}
